"""Entered in error for the records around a cycle: an outcome, a goal, a side effect or a
diary entry that was wrong is marked, never deleted (issue 15). The mark keeps who, when
and why, is audited and version-checked like a cycle's, and the record then drops out of
analytics, charts, the clinic's list and the CSV export; FHIR exports it with status
entered-in-error (an AdverseEvent carries bontrack's status extension: R4 has no status)."""

from __future__ import annotations

from typing import Literal, cast

from sqlalchemy.orm import Session

from bontrack.errors import AccessDenied, Conflict, NotFound
from bontrack.services import audit
from bontrack.services.access import CLINICAL_WRITERS, Actor, can_write_clinical
from bontrack.services.records import check_version, get_patient
from bontrack.services.schemas import EnteredInErrorIn, holds_id
from bontrack.services.usecase import use_case
from bontrack.store.models import DiaryEntry, Goal, Outcome, SideEffect

Kind = Literal["outcome", "goal", "side_effect", "diary"]
Record = Outcome | Goal | SideEffect | DiaryEntry

MODELS: dict[str, type[Record]] = {"outcome": Outcome, "goal": Goal,
                                   "side_effect": SideEffect, "diary": DiaryEntry}
#: what a person calls each kind, in messages ("side effect 7 not found")
NAMES = {"outcome": "outcome", "goal": "goal", "side_effect": "side effect",
         "diary": "diary entry"}


def _author(record: Record) -> int | None:
    """Who wrote the record (a patient may correct a report or diary entry of their own)."""
    if isinstance(record, SideEffect):
        return record.reported_by
    if isinstance(record, DiaryEntry):
        return record.created_by
    return None


@use_case()
def enter_in_error(session: Session, actor: Actor, kind: Kind, record_id: int,
                   body: EnteredInErrorIn, if_match: int | None) -> Record:
    """Mark one record entered in error. Clinicians and nurses of the patient's clinic may;
    a patient may for a side effect or diary entry they wrote themself. Another clinic's
    record is "not found", naming only the record asked for."""
    asked = f"{NAMES[kind]} {record_id}"
    model = MODELS[kind]
    record = (cast(Record | None, session.get(model, record_id)) if holds_id(record_id)
              else None)
    if record is None:
        raise NotFound(f"{asked} not found")
    patient = get_patient(session, actor, record.patient_id, audit_read=False, asked=asked)
    if actor.role == "patient":
        if actor.patient_id != patient.id or _author(record) != actor.user_id:
            raise AccessDenied(f"a patient may only correct a {NAMES[kind]} they wrote",
                               entity=kind, entity_id=record.id, patient_id=patient.id)
    elif actor.role in CLINICAL_WRITERS:
        can_write_clinical(actor, patient, f"mark a {NAMES[kind]} entered in error")
    else:
        raise AccessDenied(f"a {actor.role} may not mark a {NAMES[kind]} entered in error",
                           entity=kind, entity_id=record.id, patient_id=patient.id)
    if record.status == "entered_in_error":
        raise Conflict(f"{asked} is already entered in error", field="status")
    check_version(record.version, if_match if if_match is not None else body.version, asked)
    record.status = "entered_in_error"
    record.error_reason = body.reason
    record.error_by = actor.user_id
    record.error_at = audit.now()
    record.version += 1
    if isinstance(record, Goal):  # a goal keeps the time of its last change
        record.updated_at = record.error_at
    audit.record(session, actor, "entered_in_error", kind, record.id, patient.id,
                 detail=body.reason)
    return record
