"""The FHIR read and search use cases: which rows a user may see, found by FHIR search
parameters, returned as resources. Same role and clinic rules and the same audit trail as
the REST API (services.access, services.audit): another clinic's record is "not found", a
patient sees only their own record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from bontrack.errors import AccessDenied, InvalidRecord, NotFound
from bontrack.fhir import mapping
from bontrack.fhir.codes import (
    CS_INDICATION,
    CS_OUTCOME,
    CS_PROCEDURE,
    CS_PRODUCT,
    ICD10CM,
    SNOMED,
)
from bontrack.fhir.export import (
    CY,
    INJ,
    OUT,
    OV,
    SE,
    C,
    D,
    F,
    G,
    P,
    V,
    W,
    clinic_names,
    resources,
)
from bontrack.fhir.mapping import Context, Json
from bontrack.reference import default_reference
from bontrack.services import audit
from bontrack.services.access import Actor, can_read_patient
from bontrack.services.given import GIVEN
from bontrack.store.models import Patient

MAX_COUNT = 200
DEFAULT_COUNT = 50
#: Parameters every search accepts; anything else is refused (400) rather than ignored, so
#: a misspelt filter never silently returns more records than asked for.
COMMON = ("_id", "_count", "_offset", "_sort", "_format", "_totalMethod")
SORTS = ("_id", "-_id", "date", "-date")


@dataclass(frozen=True)
class Source:
    """One table behind a resource type: its id, patient, date and code columns."""

    table: Any
    patient: Any
    date: Any = None
    code: Callable[[str | None, str], ColumnElement[bool]] | None = None
    id_prefix: str = ""
    join: Any = None


def _never() -> ColumnElement[bool]:
    return P.c.id != P.c.id


def _condition_code(system: str | None, code: str) -> ColumnElement[bool]:
    if system == ICD10CM:
        return C.c.icd10cm == code
    if system == CS_INDICATION:
        return C.c.indication == code
    if system is None:
        return or_(C.c.icd10cm == code, C.c.indication == code)
    return _never()


def _procedure_code(system: str | None, code: str) -> ColumnElement[bool]:
    if system in (None, CS_PROCEDURE) and code == "bont-injection-session":
        return CY.c.id == CY.c.id
    return _never()


def _product_code(system: str | None, code: str) -> ColumnElement[bool]:
    return CY.c.product == code if system in (None, CS_PRODUCT) else _never()


def _scale_code(system: str | None, code: str) -> ColumnElement[bool]:
    # the SNOMED CT codes of the scales: reference/data/scales.yaml (the bundled reference)
    snomed_ids = default_reference().scale_by_coding
    if system == SNOMED:
        scales = [s for s in [snomed_ids(SNOMED, code)] if s]
        return OUT.c.scale.in_(scales) if scales else _never()
    if system in (None, CS_OUTCOME):
        snomed = [s for s in [snomed_ids(SNOMED, code)] if s and system is None]
        return OUT.c.scale.in_([code, *snomed])
    return _never()


SOURCES: dict[str, tuple[Source, ...]] = {
    "Patient": (Source(P, P.c.id),),
    "Condition": (Source(C, C.c.patient_id, C.c.onset_date, _condition_code),),
    "Encounter": (Source(CY, CY.c.patient_id, CY.c.date),),
    "Procedure": (Source(CY, CY.c.patient_id, CY.c.date, _procedure_code),),
    "MedicationAdministration": (Source(INJ, CY.c.patient_id, CY.c.date, _product_code,
                                        join=CY),),
    "Observation": (Source(OUT, OUT.c.patient_id, OUT.c.measured_at, _scale_code),
                    Source(W, W.c.patient_id, W.c.measured_on, None, "weight-")),
    "Goal": (Source(G, G.c.patient_id, G.c.target_date),),
    "AdverseEvent": (Source(SE, SE.c.patient_id, SE.c.onset),),
    "QuestionnaireResponse": (Source(D, D.c.patient_id, D.c.entry_date),),
}
#: Search parameters per type, as the CapabilityStatement lists them.
PARAMS: dict[str, tuple[str, ...]] = {
    "Patient": (),
    "Condition": ("patient", "subject", "code", "date"),
    "Encounter": ("patient", "subject", "date"),
    "Procedure": ("patient", "subject", "date", "code"),
    "MedicationAdministration": ("patient", "subject", "date", "effective-time", "code"),
    "Observation": ("patient", "subject", "date", "code"),
    "Goal": ("patient", "subject", "date", "target-date"),
    "AdverseEvent": ("patient", "subject", "date"),
    "QuestionnaireResponse": ("patient", "subject", "date", "authored"),
}
TYPES = tuple(SOURCES)
_DATE = re.compile(r"^(eq|ne|gt|ge|lt|le|sa|eb)?(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
                   r"(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")


def _date_range(raw: str, name: str) -> tuple[str, date, date]:
    m = _DATE.match(raw)
    if not m:
        raise InvalidRecord(f"{name}: {raw!r} is not a FHIR date (like ge2026-01-31)",
                            field=name)
    prefix, y, mo, d = m.group(1) or "eq", int(m.group(2)), m.group(3), m.group(4)
    try:
        if d:
            start = date(y, int(mo), int(d))
            end = start + timedelta(days=1)
        elif mo:
            start = date(y, int(mo), 1)
            end = date(y + (int(mo) == 12), int(mo) % 12 + 1, 1)
        else:
            start, end = date(y, 1, 1), date(y + 1, 1, 1)
    except ValueError:
        raise InvalidRecord(f"{name}: {raw!r} is not a real day", field=name) from None
    return prefix, start, end


def _date_filter(col: Any, raw: str, name: str) -> ColumnElement[bool]:
    prefix, start, end = _date_range(raw, name)
    lo: Any = start
    hi: Any = end
    if col.type.python_type is datetime:
        lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
        hi = datetime(end.year, end.month, end.day, tzinfo=UTC)
    chosen: ColumnElement[bool] = {
        "eq": and_(col >= lo, col < hi), "ne": not_(and_(col >= lo, col < hi)),
        "gt": col >= hi, "sa": col >= hi, "ge": col >= lo,
        "lt": col < lo, "eb": col < lo, "le": col < hi,
    }[prefix]
    return chosen


def _patient_value(raw: str, name: str) -> int:
    value = raw.rsplit("/", 1)[-1] if raw.startswith("Patient/") or "/" not in raw else None
    if value is None or not value.isdigit():
        raise InvalidRecord(f"{name}: expected a patient reference like Patient/12, got "
                            f"{raw!r}", field=name)
    return int(value)


def _token(raw: str) -> tuple[str | None, str]:
    if "|" in raw:
        system, _, code = raw.partition("|")
        return (system or None), code
    return None, raw


@dataclass
class Page:
    resources: list[Json]
    total: int
    count: int
    offset: int
    applied: list[tuple[str, str]]


def _where(kind: str, src: Source, actor: Actor, params: list[tuple[str, str]]
           ) -> ColumnElement[bool] | None:
    """The filter of one source, or None when the parameters exclude it entirely."""
    conds: list[ColumnElement[bool]] = [P.c.clinic_id == actor.clinic_id]
    if actor.role == "patient":
        conds.append(P.c.id == (actor.patient_id or -1))
        if src.table is CY or src.join is CY:  # a plan (draft) is not shown as given
            conds.append(or_(CY.c.status == GIVEN, CY.c.signed_at.is_not(None)))
    for name, raw in params:
        if name == "_id":
            ids = []
            for one in raw.split(","):
                if src.id_prefix:
                    if not one.startswith(src.id_prefix):
                        continue
                    one = one[len(src.id_prefix):]
                elif not one.isdigit():
                    continue
                if one.isdigit():
                    ids.append(int(one))
            if not ids:
                return None
            conds.append(src.table.c.id.in_(ids))
        elif name in ("patient", "subject"):
            conds.append(src.patient.in_([_patient_value(v, name) for v in raw.split(",")]))
        elif name in ("date", "effective-time", "target-date", "authored"):
            if src.date is None:
                return None
            conds.append(_date_filter(src.date, raw, name))
        elif name == "code":
            if src.code is None:
                return None
            conds.append(or_(*[src.code(*_token(v)) for v in raw.split(",")]))
    return and_(*conds)


def _from(src: Source) -> Any:
    base = src.table
    if src.join is not None:
        base = base.join(src.join, src.join.c.id == src.table.c.cycle_id)
    if src.table is not P:
        base = base.join(P, P.c.id == src.patient)
    return base


def search(session: Session, actor: Actor, ctx: Context, kind: str,
           query: list[tuple[str, str]]) -> Page:
    """Resources of ``kind`` matching ``query`` (repeated parameters mean AND; a comma
    means OR), in id order, one page at a time."""
    allowed = set(COMMON) | set(PARAMS[kind])
    unknown = sorted({n for n, _ in query if n not in allowed})
    if unknown:
        raise InvalidRecord(f"{kind} search does not support {', '.join(unknown)}; "
                            f"supported: {', '.join(sorted(allowed))}", field=unknown[0])
    count, offset = DEFAULT_COUNT, 0
    params: list[tuple[str, str]] = []
    sort = "_id"
    for name, raw in query:
        if name == "_sort":
            if raw not in SORTS:
                raise InvalidRecord(f"_sort: {raw!r} is not supported; use one of "
                                    f"{', '.join(SORTS)}", field="_sort")
            sort = raw
            continue
        if name in ("_count", "_offset"):
            if not raw.isdigit():
                raise InvalidRecord(f"{name} must be a whole number, got {raw!r}", field=name)
            if name == "_count":
                count = min(int(raw), MAX_COUNT)
            else:
                offset = int(raw)
        elif name not in ("_format", "_totalMethod"):
            params.append((name, raw))
    found: list[Json] = []
    total = 0
    skip, want = offset, count
    for src in SOURCES[kind]:
        where = _where(kind, src, actor, params)
        if where is None:
            continue
        n = session.scalar(select(func.count()).select_from(_from(src)).where(where)) or 0
        total += n
        if want > 0 and skip < n:
            key = src.table.c.id
            order = ([key.desc()] if sort == "-_id" else
                     [src.date.desc(), key.desc()] if sort == "-date" and src.date is not None
                     else [src.date, key] if sort == "date" and src.date is not None
                     else [key])
            stmt: Select[Any] = (select(src.table.c.id).select_from(_from(src)).where(where)
                                 .order_by(*order).offset(skip).limit(want))
            for rid in session.scalars(stmt):
                found.append(build(session, ctx, kind, f"{src.id_prefix}{rid}")[0])
            want = count - len(found)
        skip = max(0, skip - n)
    audit.record(session, actor, "search", f"fhir:{kind}",
                 patient_id=actor.patient_id if actor.role == "patient" else None,
                 detail=f"{'&'.join(f'{k}={v}' for k, v in params)} n={len(found)}"[:400])
    if sort != "_id":
        params.append(("_sort", sort))
    return Page(found, total, count, offset, params)


def _row(session: Session, table: Any, rid: int) -> Any:
    return session.execute(select(table).where(table.c.id == rid)).first()


def build(session: Session, ctx: Context, kind: str, rid: str) -> tuple[Json, int]:
    """One resource by type and id, with the id of the patient it belongs to.
    Raises NotFound if there is no such record."""
    missing = NotFound(f"{kind}/{rid} not found")
    prefix = "weight-" if kind == "Observation" and rid.startswith("weight-") else ""
    num = rid[len(prefix):]
    if not num.isdigit() or len(num) > 18:
        raise missing
    n = int(num)
    if kind == "Patient":
        p = _row(session, P, n)
        if p is None:
            raise missing
        return mapping.patient(ctx, p, clinic_names(session).get(p.clinic_id)), p.id
    simple: Mapping[str, tuple[Any, Callable[[Context, Any], Json]]] = {
        "Condition": (C, mapping.condition), "Goal": (G, mapping.goal),
        "AdverseEvent": (SE, mapping.adverse_event),
        "QuestionnaireResponse": (D, mapping.questionnaire_response),
        "Encounter": (CY, mapping.encounter),
    }
    if kind == "Observation":
        row = _row(session, W if prefix else OUT, n)
        if row is None:
            raise missing
        return (mapping.weight if prefix else mapping.observation)(ctx, row), row.patient_id
    if kind in simple:
        table, fn = simple[kind]
        row = _row(session, table, n)
        if row is None:
            raise missing
        return fn(ctx, row), row.patient_id
    if kind == "Procedure":
        cy = _row(session, CY, n)
        if cy is None:
            raise missing
        vials = list(session.scalars(select(V.c.id).where(V.c.cycle_id == n).order_by(V.c.id)))
        findings = session.execute(select(F).where(F.c.cycle_id == n).order_by(F.c.id))
        overrides = session.execute(select(OV).where(OV.c.cycle_id == n).order_by(OV.c.id))
        return mapping.procedure(ctx, cy, vials, list(findings), list(overrides)), cy.patient_id
    if kind == "MedicationAdministration":
        inj = _row(session, INJ, n)
        if inj is None:
            raise missing
        cy = _row(session, CY, inj.cycle_id)
        vial = session.scalar(select(V.c.id).where(V.c.cycle_id == cy.id)
                              .order_by(V.c.id).limit(1))
        return mapping.medication_administration(ctx, inj, cy, vial), cy.patient_id
    if kind == "Medication":
        v = _row(session, V, n)
        if v is None:
            raise missing
        cy = _row(session, CY, v.cycle_id)
        return mapping.medication(ctx, v, cy.product), cy.patient_id
    raise NotFound(f"resource type {kind!r} is not served here")


def _is_plan(session: Session, kind: str, resource: Json) -> bool:
    """Whether a resource belongs to a cycle that was never given (a draft): the session,
    its encounter, its administrations and its vials are a plan, not the patient's
    treatment."""
    cycle_id: int | None = None
    if kind in ("Procedure", "Encounter"):
        cycle_id = int(resource["id"])
    elif kind == "MedicationAdministration":
        part = (resource.get("partOf") or [{}])[0].get("reference", "")
        cycle_id = int(part.rsplit("/", 1)[1]) if part.startswith("Procedure/") else None
    elif kind == "Medication":
        cycle_id = session.scalar(select(V.c.cycle_id).where(V.c.id == int(resource["id"])))
    if cycle_id is None:
        return False
    row = session.execute(select(CY.c.status, CY.c.signed_at).where(CY.c.id == cycle_id)
                          ).first()
    return row is not None and row.status != GIVEN and row.signed_at is None


def read(session: Session, actor: Actor, ctx: Context, kind: str, rid: str) -> Json:
    """One resource, if the actor may read its patient's record (audited)."""
    resource, patient_id = build(session, ctx, kind, rid)
    patient = session.get(Patient, patient_id)
    assert patient is not None
    try:
        can_read_patient(actor, patient)
        if actor.role == "patient" and _is_plan(session, kind, resource):
            raise NotFound(f"{kind}/{rid} not found")
    except NotFound:
        raise NotFound(f"{kind}/{rid} not found") from None
    except AccessDenied as exc:
        exc.entity = f"fhir:{kind}"
        raise
    audit.record(session, actor, "read", f"fhir:{kind}", int(rid) if rid.isdigit() else None,
                 patient_id)
    return resource


def everything(session: Session, actor: Actor, ctx: Context, patient_id: str) -> list[Json]:
    """Patient/$everything: the patient's whole record (audited as one read)."""
    if not patient_id.isdigit() or len(patient_id) > 18:
        raise NotFound(f"Patient/{patient_id} not found")
    patient = session.get(Patient, int(patient_id))
    if patient is None:
        raise NotFound(f"Patient/{patient_id} not found")
    try:
        can_read_patient(actor, patient)
    except NotFound:
        raise NotFound(f"Patient/{patient_id} not found") from None
    out = list(resources(session, ctx, patient_ids=[patient.id]))
    if actor.role == "patient":
        out = [r for r in out if not _is_plan(session, r["resourceType"], r)]
    audit.record(session, actor, "read", "fhir:everything", patient.id, patient.id,
                 detail=f"n={len(out)}")
    return out
