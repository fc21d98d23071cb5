"""Condition: an indication being treated (bontrack indication + ICD-10-CM coding)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import Session

from bontrack.fhir import narrative
from bontrack.fhir.codes import (
    COND_CATEGORY,
    COND_CLINICAL,
    COND_VERIFICATION,
    CS_INDICATION,
    ICD10CM,
    PROBLEM_LIST_ITEM,
    code_in,
    coding,
    concept,
)
from bontrack.fhir.elements import as_day, as_instant, ext_value
from bontrack.fhir.kind import Kind
from bontrack.fhir.lines import columns, dumps, fixed, isoday, memo, stamp
from bontrack.fhir.lines import meta as meta_bytes
from bontrack.fhir.mapping import (
    Context,
    Json,
    day,
    ext,
    indication_concept,
    instant,
    meta,
    ref,
)
from bontrack.fhir.query import SUBJECT, SUBJECT_INCLUDES, Source, never
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import Batch, RowSet, find
from bontrack.services import audit
from bontrack.store.models import Condition

C = Condition.__table__
CONDITIONS = RowSet("conditions", C)


def condition(ctx: Context, c: Any) -> Json:
    out: Json = {"resourceType": "Condition", "id": str(c.id),
                 "meta": meta(c.version, c.updated_at or c.created_at)}
    if c.affected_side:
        out["extension"] = [ext("affected-side", valueCode=c.affected_side)]
    error = c.status == "entered_in_error"
    if not error:
        out["clinicalStatus"] = concept(coding(COND_CLINICAL, "active", "Active"))
    out["verificationStatus"] = concept(
        coding(COND_VERIFICATION, "entered-in-error", "Entered in Error") if error
        else coding(COND_VERIFICATION, "confirmed", "Confirmed"))
    out["category"] = [concept(coding(COND_CATEGORY, *PROBLEM_LIST_ITEM))]
    out["code"] = indication_concept(ctx, c.indication, c.icd10cm)
    out["subject"] = ref("Patient", c.patient_id)
    if c.onset_date:
        out["onsetDateTime"] = day(c.onset_date)
    out["recordedDate"] = instant(c.created_at)
    if c.note:
        out["note"] = [{"text": c.note}]
    return out


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for c in batch.of(CONDITIONS, p.id):
        yield condition(ctx, c)


#: a condition's line: id, meta, the affected side (if any), the statuses, the category,
#: the code, the patient, the onset (if known), the time recorded, the note (if any)
_CONDITION = (b'{"resourceType":"Condition","id":"%d%b%b%b,"category":['
              + fixed(dumps(concept(coding(COND_CATEGORY, *PROBLEM_LIST_ITEM))))
              + b'],"code":%b,"subject":{"reference":"Patient/%d"}%b,"recordedDate":"%b"%b}\n')
_ERROR = b',"verificationStatus":' + dumps(concept(
    coding(COND_VERIFICATION, "entered-in-error", "Entered in Error")))
_CONFIRMED = (b',"clinicalStatus":' + dumps(concept(coding(COND_CLINICAL, "active", "Active")))
              + b',"verificationStatus":' + dumps(concept(
                  coding(COND_VERIFICATION, "confirmed", "Confirmed"))))
_SIDE = (b',"extension":[{"url":' + fixed(dumps(ext("affected-side")["url"]))
         + b',"valueCode":%b}]')
(C_ID, C_VERSION, C_UPDATED, C_CREATED, C_SIDE, C_STATUS, C_INDICATION, C_ICD, C_PATIENT,
 C_ONSET, C_NOTE) = columns(
    C, "id", "version", "updated_at", "created_at", "affected_side", "status", "indication",
    "icd10cm", "patient_id", "onset_date", "note")


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces."""
    codes = memo(ctx, "condition-code")
    for c in batch.rows(CONDITIONS, patients):
        created, side, onset, note = c[C_CREATED], c[C_SIDE], c[C_ONSET], c[C_NOTE]
        code = (c[C_INDICATION], c[C_ICD])
        yield _CONDITION % (
            c[C_ID], meta_bytes(c[C_VERSION], c[C_UPDATED] or created),
            _SIDE % dumps(side) if side else b"",
            _ERROR if c[C_STATUS] == "entered_in_error" else _CONFIRMED,
            codes.get(code) or codes.setdefault(code, dumps(indication_concept(ctx, *code))),
            c[C_PATIENT],
            b',"onsetDateTime":"%b"' % isoday(onset) if onset else b"",
            stamp(created), b',"note":[{"text":' + dumps(note) + b"}]" if note else b"")


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    row = find(session, C, rid)
    return None if row is None else (condition(ctx, row), row.patient_id)


def _condition_code(system: str | None, code: str) -> ColumnElement[bool]:
    if system == ICD10CM:
        return C.c.icd10cm == code
    if system == CS_INDICATION:
        return C.c.indication == code
    if system is None:
        return or_(C.c.icd10cm == code, C.c.indication == code)
    return never()


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    pkey = reader.subject(res)
    ind, icd = reader.indication([res.get("code")], "code")
    ver = code_in(res.get("verificationStatus"), "http://terminology.hl7.org/CodeSystem/"
                  "condition-ver-status")
    note = " ".join(n.get("text", "") for n in res.get("note") or [])
    c = Condition(indication=ind, icd10cm=icd, affected_side=ext_value(
        res, "affected-side", "valueCode"), onset_date=as_day(res["onsetDateTime"],
                                                            "onsetDateTime")
        if res.get("onsetDateTime") else None, note=note,
        status="entered_in_error" if ver == "entered-in-error" else "active",
        created_at=as_instant(res["recordedDate"], "recordedDate")
        if res.get("recordedDate") else audit.now())
    reader.plan.children[pkey].append((key, c, None))


KIND = Kind(
    name="Condition", store=(Condition,), rows=(CONDITIONS,), export=export, fetch=fetch,
    read=read, audit={Condition: "condition"}, after=("Patient",),
    sources=(Source(C, C.c.patient_id, C.c.onset_date, _condition_code,
                    updated=func.coalesce(C.c.updated_at, C.c.created_at)),),
    includes=SUBJECT_INCLUDES,
    params={**SUBJECT, "code": "token", "date": "date"}, lines=lines,
    narrative=narrative.condition,
)
