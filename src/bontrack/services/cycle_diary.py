"""The cycle diary (issue 17 item 6): after a signed cycle, the patient answers when it
started working, when it wore off, their symptoms (triaged like the diary) and their global
impression of change. The rules are ``clinical.cycle_diary``; the answers feed the response
analysis (``analytics.patient.load_rows``), so the duration of benefit and recall use them.

Who: the patient answers only for their own given cycles (the patient's account; a
caregiver answers through it, as for the diary); staff of the clinic read the answers on
the cycle page. Amending writes a new row and keeps the old one (``amended``); a wrong
answer is marked entered in error by its author or a clinician or nurse, never deleted.

"Today" is a value the caller passes (``today_anywhere`` at the edges): the use cases and
the rules read no clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.clinical.cycle_diary import CycleAnswers, check_answers
from bontrack.config import date_limits
from bontrack.errors import AccessDenied, Conflict, InvalidRecord, NotFound
from bontrack.reference import Reference
from bontrack.reference.impression import ImpressionFile, default_impression
from bontrack.services import audit
from bontrack.services.access import CLINICAL_WRITERS, Actor, can_write_clinical
from bontrack.services.cycles import get_cycle
from bontrack.services.given import is_given
from bontrack.services.records import check_version
from bontrack.services.schemas import DbInt, EventDay, In, Text, holds_id
from bontrack.services.triage import triage_texts
from bontrack.services.usecase import use_case
from bontrack.services.views import _triage, error_view
from bontrack.store.models import Cycle, CycleDiary, Patient

#: what "entered in error" and "amend" need as a reason (as for other records)
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5,
                                          max_length=2000)]


class CycleDiaryIn(In):
    """One answer to the cycle diary. ``version`` (the current answer's) and ``reason``
    are needed to amend an earlier answer."""

    onset: Literal["date", "not_yet", "no_effect"]
    onset_date: EventDay | None = None
    wore_off: Literal["date", "not_yet"] = "not_yet"
    wore_off_date: EventDay | None = None
    spasm_frequency: Annotated[int, Field(ge=0, le=4)] | None = None
    spasm_intensity: Annotated[int, Field(ge=0, le=3)] | None = None
    pain: Annotated[int, Field(ge=0, le=10)] | None = None
    global_impression: Annotated[int, Field(ge=0, le=100)] | None = None
    side_effects: Text = ""
    note: Text = ""
    version: DbInt | None = None
    reason: Reason | None = None


class CycleDiaryErrorIn(In):
    version: DbInt | None = None
    reason: Reason


def today_anywhere() -> date:
    """The latest day that is today somewhere (the edges pass it as "today": a patient
    ahead of UTC may report their own today)."""
    return (datetime.now(UTC) + timedelta(hours=date_limits().event_ahead_hours)).date()


def impression_view(imp: ImpressionFile | None = None) -> dict[str, Any]:
    """The global impression question and its answers with their sources (the form)."""
    imp = imp or default_impression()
    return {"question": imp.question, "scale": imp.scale,
            "answers": [{"value": a.value, "label": a.label,
                         "source": imp.citation(a.source)} for a in imp.answers],
            "source": imp.citation(imp.scale_source)}


def answer_view(d: CycleDiary) -> dict[str, Any]:
    imp = default_impression()
    return {"id": d.id, "patient_id": d.patient_id, "cycle_id": d.cycle_id,
            "onset": d.onset, "onset_date": d.onset_date.isoformat() if d.onset_date else None,
            "wore_off": d.wore_off,
            "wore_off_date": d.wore_off_date.isoformat() if d.wore_off_date else None,
            "global_impression": d.global_impression,
            "global_impression_label": (imp.label_of(d.global_impression)
                                        if d.global_impression is not None else None),
            "reason": d.reason, "replaces_id": d.replaces_id, "replaced_by": d.replaced_by,
            "created_by": d.created_by,
            "spasm_frequency": d.spasm_frequency, "spasm_intensity": d.spasm_intensity,
            "pain": d.pain, "side_effects": d.side_effects, "note": d.note,
            "red_flags": list(d.red_flags or []), "urgent": bool(d.red_flags),
            "triage": _triage(d.triage, d.red_flags), "status": d.status,
            "version": d.version, "entered_in_error": error_view(d),
            "created_at": d.created_at.isoformat() if d.created_at else None}


def _cycle_for(session: Session, actor: Actor, cycle_id: int) -> tuple[Cycle, Patient]:
    cycle = get_cycle(session, actor, cycle_id, audit_read=False)
    patient = session.get(Patient, cycle.patient_id)
    assert patient is not None
    return cycle, patient


def _rows(session: Session, cycle_id: int) -> list[CycleDiary]:
    return list(session.scalars(select(CycleDiary).where(CycleDiary.cycle_id == cycle_id)
                                .order_by(CycleDiary.id)))


@use_case()
def cycle_diary(session: Session, actor: Actor, cycle_id: int) -> dict[str, Any]:
    """The cycle's current answer (None before the first) and every earlier one, oldest
    first; the patient may read their own given cycles' answers, staff their clinic's."""
    cycle, patient = _cycle_for(session, actor, cycle_id)
    rows = _rows(session, cycle.id)
    current = next((r for r in rows if r.status == "active"), None)
    audit.record(session, actor, "read", "cycle_diary", cycle.id, patient.id)
    return {"cycle_id": cycle.id, "cycle_date": cycle.date.isoformat(),
            "cycle_status": cycle.status, "can_answer": is_given(cycle),
            "current": answer_view(current) if current else None,
            "history": [answer_view(r) for r in rows if r is not current],
            "impression": impression_view()}


def _check(body: CycleDiaryIn, cycle: Cycle, today: date, ref: Reference) -> None:
    problems = check_answers(CycleAnswers(body.onset, body.onset_date, body.wore_off,
                                          body.wore_off_date), cycle.date, today)
    if problems:
        raise InvalidRecord("; ".join(p.message for p in problems), field=problems[0].field)
    if body.global_impression is not None:
        imp = default_impression()
        if imp.label_of(body.global_impression) is None:
            values = ", ".join(str(a.value) for a in imp.answers)
            raise InvalidRecord(f"global_impression: {body.global_impression} is not one of "
                                f"the answers ({values})", field="global_impression")


@use_case()
def answer_cycle_diary(session: Session, actor: Actor, cycle_id: int, body: CycleDiaryIn,
                       ref: Reference, today: date) -> CycleDiary:
    """Record the patient's answers for a given cycle, or amend the current ones (then
    ``version`` and ``reason`` are needed; the earlier answer is kept as ``amended``)."""
    cycle, patient = _cycle_for(session, actor, cycle_id)
    if actor.role != "patient" or actor.patient_id != patient.id:
        raise AccessDenied("only the patient answers the diary of their own cycle",
                           entity="cycle_diary", entity_id=cycle.id, patient_id=patient.id)
    if not is_given(cycle):
        raise Conflict(f"cycle {cycle_id} is {cycle.status}: the diary is asked after a "
                       "signed cycle", field="cycle_id")
    _check(body, cycle, today, ref)
    current = session.scalars(select(CycleDiary).where(
        CycleDiary.cycle_id == cycle.id, CycleDiary.status == "active")
        .with_for_update()).first()
    if current is not None:
        check_version(current.version, body.version, f"the diary of cycle {cycle_id}")
        if not body.reason:
            raise InvalidRecord("reason: say why the earlier answer changes (at least 5 "
                                "characters)", field="reason")
    doc = triage_texts([body.side_effects, body.note], ref)
    row = CycleDiary(cycle_id=cycle.id, patient_id=patient.id, onset=body.onset,
                     onset_date=body.onset_date, wore_off=body.wore_off,
                     wore_off_date=body.wore_off_date, spasm_frequency=body.spasm_frequency,
                     spasm_intensity=body.spasm_intensity, pain=body.pain,
                     global_impression=body.global_impression,
                     side_effects=body.side_effects, note=body.note,
                     red_flags=[f["id"] for f in doc["flags"]], triage_level=doc["level"],
                     triage=doc, reason=body.reason or "",
                     replaces_id=current.id if current else None,
                     created_by=actor.user_id, created_at=audit.now(), status="active",
                     version=1)
    if current is not None:
        current.status = "amended"
        current.version += 1
        session.flush()  # the old row leaves "active" before the new one joins it
    session.add(row)
    session.flush()
    if current is not None:
        current.replaced_by = row.id
        audit.record(session, actor, "update", "cycle_diary", row.id, patient.id,
                     detail=f"amends {current.id}: {body.reason}")
    else:
        audit.record(session, actor, "create", "cycle_diary", row.id, patient.id)
    return row


@use_case()
def enter_in_error(session: Session, actor: Actor, answer_id: int, body: CycleDiaryErrorIn
                   ) -> CycleDiary:
    """Mark one answer entered in error: its author, or a clinician or nurse of the
    patient's clinic. Kept, audited, and no longer read by the analysis."""
    asked = f"cycle diary answer {answer_id}"
    row = session.get(CycleDiary, answer_id) if holds_id(answer_id) else None
    if row is None:
        raise NotFound(f"{asked} not found")
    patient = session.get(Patient, row.patient_id)
    assert patient is not None
    if patient.clinic_id != actor.clinic_id:
        raise NotFound(f"{asked} not found")
    if actor.role == "patient":
        if actor.patient_id != patient.id or row.created_by != actor.user_id:
            raise AccessDenied("a patient may only correct an answer they wrote",
                               entity="cycle_diary", entity_id=row.id, patient_id=patient.id)
    elif actor.role in CLINICAL_WRITERS:
        can_write_clinical(actor, patient, "mark a cycle diary answer entered in error")
    else:
        raise AccessDenied(f"a {actor.role} may not mark a cycle diary answer entered in "
                           "error", entity="cycle_diary", entity_id=row.id,
                           patient_id=patient.id)
    if row.status != "active":
        raise Conflict(f"{asked} is {row.status}; only the current answer can be marked",
                       field="status")
    check_version(row.version, body.version, asked)
    row.status = "entered_in_error"
    row.error_reason = body.reason
    row.error_by = actor.user_id
    row.error_at = audit.now()
    row.version += 1
    audit.record(session, actor, "entered_in_error", "cycle_diary", row.id, patient.id,
                 detail=body.reason)
    return row
