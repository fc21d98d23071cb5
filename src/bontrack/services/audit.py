"""The audit trail: every read and write of patient data appends one event, in the same
transaction as the write (so a write and its audit commit or roll back together)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bontrack.services.access import Actor
from bontrack.store.audit_chain import GENESIS, event_hash
from bontrack.store.models import AuditEvent, Patient

#: Actions that only read; every other action with a patient changes the patient's record.
READS = frozenset({"read", "search", "sign_in"})


def now() -> datetime:
    return datetime.now(UTC)


def _last_hash(session: Session) -> str:
    """The newest event's hash, under a lock so that two transactions never chain from the
    same event (SQLite transactions are already serialised by BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7312001)"))
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return last or GENESIS


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
    at = now()
    user_id = actor.user_id if actor else None
    clinic_id = actor.clinic_id if actor else None
    detail = detail[:2000]
    prev = _last_hash(session)
    session.add(
        AuditEvent(
            at=at, user_id=user_id, clinic_id=clinic_id, action=action, entity=entity,
            entity_id=entity_id, patient_id=patient_id, outcome=outcome, detail=detail,
            prev_hash=prev,
            hash=event_hash(prev, at, user_id, clinic_id, action, entity, entity_id,
                            patient_id, outcome, detail),
        )
    )
    session.flush()
    if patient_id is not None and action not in READS and outcome == "ok":
        session.execute(
            update(Patient)
            .where(Patient.id == patient_id)
            .values(record_version=Patient.record_version + 1)
            .execution_options(synchronize_session=False)
        )
