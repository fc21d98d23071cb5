"""QuestionnaireResponse: a patient diary entry, the patient's own answers as given."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from bontrack.fhir import narrative
from bontrack.fhir.codes import DIARY_QUESTIONNAIRE
from bontrack.fhir.elements import Refusal, as_day, as_instant
from bontrack.fhir.kind import Kind
from bontrack.fhir.mapping import Context, Json, author_ref, day, instant, meta, ref
from bontrack.fhir.query import SUBJECT, SUBJECT_INCLUDES, Source
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import Batch, RowSet, find
from bontrack.services import audit
from bontrack.services.triage import triage_texts
from bontrack.store.models import DiaryEntry

D = DiaryEntry.__table__
DIARY = RowSet("diary", D)


DIARY_ITEMS = (("spasm_frequency", "spasm-frequency", "Spasm frequency (Penn, 0-4)"),
               ("spasm_intensity", "spasm-intensity", "Spasm intensity (0-3)"),
               ("pain", "pain", "Pain (0-10)"))


def questionnaire_response(ctx: Context, d: Any) -> Json:
    """A patient diary entry: the patient's own answers, as they gave them."""
    items: list[Json] = [{"linkId": "entry-date", "text": "Day",
                          "answer": [{"valueDate": day(d.entry_date)}]}]
    for attr, link, text in DIARY_ITEMS:
        v = getattr(d, attr)
        if v is not None:
            items.append({"linkId": link, "text": text, "answer": [{"valueInteger": v}]})
    for attr, link, text in (("side_effects", "side-effects", "Side effects"),
                             ("note", "note", "Note")):
        v = getattr(d, attr)
        if v:
            items.append({"linkId": link, "text": text, "answer": [{"valueString": v}]})
    return {
        "resourceType": "QuestionnaireResponse", "id": str(d.id),
        # its one change is the withdrawal (entered in error); else as written
        "meta": meta(d.version, d.error_at or d.created_at),
        "questionnaire": DIARY_QUESTIONNAIRE,
        "status": "entered-in-error" if d.status == "entered_in_error" else "completed",
        "subject": ref("Patient", d.patient_id),
        "authored": instant(d.created_at),
        "author": author_ref(ctx, d.created_by),
        "item": items,
    }


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for d in batch.of(DIARY, p.id):
        yield questionnaire_response(ctx, d)


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    row = find(session, D, rid)
    return None if row is None else (questionnaire_response(ctx, row), row.patient_id)


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    pkey = reader.subject(res)
    if res.get("questionnaire") != DIARY_QUESTIONNAIRE:
        raise Refusal("questionnaire", f"only the bontrack diary ({DIARY_QUESTIONNAIRE}) "
                      "can be imported")
    answers: dict[str, Any] = {}
    for i, item in enumerate(res.get("item") or []):
        a = (item.get("answer") or [{}])[0]
        value = next((v for k, v in a.items() if k.startswith("value")), None)
        answers[item.get("linkId", f"item[{i}]")] = value
    if "entry-date" not in answers:
        raise Refusal("item", "the diary entry's day (linkId entry-date) is missing")
    doc = triage_texts([v for v in (answers.get("side-effects"), answers.get("note"))
                        if isinstance(v, str)], reader.ref)
    reader.plan.children[pkey].append((key, DiaryEntry(
        entry_date=as_day(answers["entry-date"], "item[entry-date]"),
        red_flags=[f["id"] for f in doc["flags"]], triage_level=doc["level"], triage=doc,
        spasm_frequency=answers.get("spasm-frequency"),
        spasm_intensity=answers.get("spasm-intensity"), pain=answers.get("pain"),
        side_effects=answers.get("side-effects") or "", note=answers.get("note") or "",
        created_by=reader.user(res.get("author"), f"{key} author")
        if res.get("author") else reader.actor.user_id,
        created_at=as_instant(res["authored"], "authored") if res.get("authored")
        else audit.now(),
        status="entered_in_error" if res.get("status") == "entered-in-error"
        else "active"), None))


KIND = Kind(
    name="QuestionnaireResponse", store=(DiaryEntry,), rows=(DIARY,), export=export,
    fetch=fetch, read=read, audit={DiaryEntry: "diary"}, after=("Patient",),
    sources=(Source(D, D.c.patient_id, D.c.entry_date,
                    updated=func.coalesce(D.c.error_at, D.c.created_at)),),
    includes=SUBJECT_INCLUDES,
    params={**SUBJECT, "date": "date", "authored": "date"},
    narrative=narrative.questionnaire_response,
)
