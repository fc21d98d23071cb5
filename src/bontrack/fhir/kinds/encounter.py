"""Encounter: the visit of a cycle (same id as its Procedure); imported with the Procedure,
which carries the session."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from bontrack.fhir import narrative
from bontrack.fhir.codes import V3_ACT, coding
from bontrack.fhir.elements import Skip
from bontrack.fhir.kind import Kind
from bontrack.fhir.lines import columns, cycle_meta, dumps, isoday, memo
from bontrack.fhir.mapping import (
    Context,
    Json,
    day,
    indication_concept,
    meta,
    ref,
    session_concept,
    user_ref,
)
from bontrack.fhir.query import SUBJECT, SUBJECT_INCLUDES, Source
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import CY, CYCLES, Batch, find
from bontrack.store.models import Cycle


def encounter(ctx: Context, cy: Any) -> Json:
    return {
        "resourceType": "Encounter", "id": str(cy.id), "meta": meta(cy.version, cy.updated_at),
        "status": "entered-in-error" if cy.status == "entered_in_error" else "finished",
        "class": coding(V3_ACT, "AMB", "ambulatory"),
        "type": [session_concept()],
        "subject": ref("Patient", cy.patient_id),
        "participant": [{"individual": user_ref(ctx, cy.clinician_id)}],
        "period": {"start": day(cy.date), "end": day(cy.date)},
        "reasonCode": [indication_concept(ctx, cy.indication)],
    }


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for cy in batch.of(CYCLES, p.id):
        yield encounter(ctx, cy)


_ENCOUNTER = (b'{"resourceType":"Encounter","id":"%d%b,"status":"%b%b%d"},"participant":'
              b'[{"individual":%b}],"period":{"start":"%b","end":"%b"},"reasonCode":[%b]}\n')
C_ID, C_STATUS, C_PATIENT, C_CLINICIAN, C_DATE, C_INDICATION = columns(
    CY, "id", "status", "patient_id", "clinician_id", "date", "indication")


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces."""
    klass = ctx.shared(("bytes", "encounter-class"), lambda: b'","class":' + dumps(
        coding(V3_ACT, "AMB", "ambulatory")) + b',"type":[' + dumps(session_concept())
        + b'],"subject":{"reference":"Patient/')
    users, reasons = memo(ctx, "user"), memo(ctx, "reason")
    for cy in batch.rows(CYCLES, patients):
        d = isoday(cy[C_DATE])
        clinician, indication = cy[C_CLINICIAN], cy[C_INDICATION]
        yield _ENCOUNTER % (
            cy[C_ID], cycle_meta(batch, cy),
            b"entered-in-error" if cy[C_STATUS] == "entered_in_error" else b"finished",
            klass, cy[C_PATIENT],
            users.get(clinician) or users.setdefault(clinician,
                                                     dumps(user_ref(ctx, clinician))),
            d, d, reasons.get(indication) or reasons.setdefault(
                indication, dumps(indication_concept(ctx, indication))))


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    row = find(session, CY, rid)
    return None if row is None else (encounter(ctx, row), row.patient_id)


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    reader.subject(res)  # carried by its Procedure; checked for a known patient
    for r in reader.by_key.values():
        raw = (r.get("encounter") or {}).get("reference") \
            if r.get("resourceType") == "Procedure" else None
        if isinstance(raw, str) and (reader.urls.get(raw)
                                     or "/".join(raw.rstrip("/").split("/")[-2:])) == key:
            return
    # another system's visit with no session of the input: nothing of it is kept
    raise Skip("", "an encounter with no injection session (Procedure) in the input: "
               "bontrack keeps encounters only as its sessions")


def cycle_of(session: Session, resource: Json) -> int | None:
    return int(resource["id"])


KIND = Kind(
    name="Encounter", store=(Cycle,), rows=(CYCLES,), export=export, fetch=fetch, read=read,
    after=("Patient",), cycle_of=cycle_of,
    sources=(Source(CY, CY.c.patient_id, CY.c.date, updated=CY.c.updated_at),),
    includes=SUBJECT_INCLUDES,
    params={**SUBJECT, "date": "date"}, lines=lines,
    narrative=narrative.encounter,
)
