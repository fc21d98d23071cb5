"""The audit trail: every read and write of patient data appends one event, in the same
transaction as the write (so a write and its audit commit or roll back together)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from bontrack.services.access import Actor
from bontrack.store.models import AuditEvent, Patient

#: Actions that only read; every other action with a patient changes the patient's record.
READS = frozenset({"read", "search", "sign_in"})


def now() -> datetime:
    return datetime.now(UTC)


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    patient_id: int | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    session.add(
        AuditEvent(
            at=now(),
            user_id=actor.user_id if actor else None,
            clinic_id=actor.clinic_id if actor else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            patient_id=patient_id,
            outcome=outcome,
            detail=detail[:2000],
        )
    )
    if patient_id is not None and action not in READS and outcome == "ok":
        session.execute(
            update(Patient)
            .where(Patient.id == patient_id)
            .values(record_version=Patient.record_version + 1)
            .execution_options(synchronize_session=False)
        )
