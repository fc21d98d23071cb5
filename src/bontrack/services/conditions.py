"""Changing a condition the patient is treated for (issue 17: the web edits what it shows).
A condition is kept, never deleted: a mistaken one is marked entered in error; its
indication stays as recorded (a different indication is a new condition)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bontrack.errors import NotFound
from bontrack.services import audit
from bontrack.services.access import Actor, can_write_clinical
from bontrack.services.records import get_patient
from bontrack.services.schemas import ConditionPatch, holds_id
from bontrack.services.usecase import use_case
from bontrack.store.models import Condition


@use_case()
def update_condition(session: Session, actor: Actor, condition_id: int,
                     body: ConditionPatch, patient_id: int | None = None) -> Condition:
    """Change the ICD-10-CM code, side, onset or note of a condition, or mark it entered
    in error; audited with the fields changed. Another clinic's condition is not found."""
    c = session.get(Condition, condition_id) if holds_id(condition_id) else None
    if c is None or (patient_id is not None and c.patient_id != patient_id):
        raise NotFound(f"condition {condition_id} not found")
    patient = get_patient(session, actor, c.patient_id, audit_read=False,
                          asked=f"condition {condition_id}")
    can_write_clinical(actor, patient, "change conditions")
    changed: list[str] = []
    for field in ("icd10cm", "affected_side", "onset_date", "note"):
        value = getattr(body, field)
        if field in body.model_fields_set and value != getattr(c, field):
            setattr(c, field, value if value != "" or field == "note" else None)
            changed.append(field)
    if body.entered_in_error and c.status != "entered_in_error":
        c.status = "entered_in_error"
        changed.append("status")
    if changed:  # FHIR meta.versionId and meta.lastUpdated
        c.version = (c.version or 1) + 1
        c.updated_at = audit.now()
    audit.record(session, actor, "update", "condition", c.id, patient.id,
                 detail="changed: " + (", ".join(changed) or "nothing"))
    return c
