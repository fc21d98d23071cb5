"""The audit trail: every read and write of patient data appends one event, in the same
transaction as the write (so a write and its audit commit or roll back together).

Events are inserted unchained and without a lock; the chainer (``store.audit_chain``) gives
them their place in the hash chain after they commit, so no request waits on another's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bontrack.services.access import Actor
from bontrack.services.usecase import use_case
from bontrack.store import audit_anchor
from bontrack.store.audit_anchor import AnchoredVerdict, Checkpoint
from bontrack.store.audit_chain import Verdict, chain_pending, chained_events, verify
from bontrack.store.audit_writer import PENDING
from bontrack.store.bulk import insert_rows, new_ids, table_of
from bontrack.store.models import AuditEvent, Patient, User
from bontrack.store.uow import written

EVENTS = table_of(AuditEvent)

#: Actions that only read; every other action with a patient changes the patient's record.
READS = frozenset({"read", "search", "sign_in"})


def now() -> datetime:
    return datetime.now(UTC)


@use_case()
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
    row = event_row(actor, action, entity, entity_id, patient_id, outcome, detail)
    pending = session.info.get(PENDING)
    if pending is not None and action in READS:
        pending.append(row)  # a reading unit of work: committed by the audit writer
        return
    session.execute(insert(EVENTS).values(**row))
    written(session)
    if patient_id is not None and action not in READS and outcome == "ok":
        session.execute(
            update(Patient)
            .where(Patient.id == patient_id)
            .values(record_version=Patient.record_version + 1)
            .execution_options(synchronize_session=False)
        )


def event_row(actor: Actor | None, action: str, entity: str, entity_id: int | None = None,
              patient_id: int | None = None, outcome: str = "ok", detail: str = ""
              ) -> dict[str, Any]:
    """An event as the audit table stores it, unchained (the chainer places it later):
    what ``record`` inserts, and what a read hands to the audit writer."""
    return {"at": now(), "user_id": actor.user_id if actor else None,
            "clinic_id": actor.clinic_id if actor else None, "action": action,
            "entity": entity, "entity_id": entity_id, "patient_id": patient_id,
            "outcome": outcome, "detail": detail[:2000], "prev_hash": "", "hash": "",
            "chain_seq": None}


class Event(NamedTuple):
    """One event of ``record_many``: the fields of ``record`` after the session."""

    actor: Actor | None
    action: str
    entity: str
    entity_id: int | None = None
    patient_id: int | None = None
    outcome: str = "ok"
    detail: str = ""


def record_many(session: Session, events: Sequence[Event]) -> None:
    """Append ``events`` in order, as ``record`` would one by one, but with one statement:
    the ids are taken in one block (so the chainer keeps their order), and each patient's
    ``record_version`` is bumped once per event that changed the record."""
    if not events:
        return
    at = now()
    ids = new_ids(session, AuditEvent, len(events))
    rows = []
    bumps: Counter[int] = Counter()
    for event_id, e in zip(ids, events, strict=True):
        user_id = e.actor.user_id if e.actor else None
        clinic_id = e.actor.clinic_id if e.actor else None
        detail = e.detail[:2000]
        rows.append({"id": event_id, "at": at, "user_id": user_id, "clinic_id": clinic_id,
                     "action": e.action, "entity": e.entity, "entity_id": e.entity_id,
                     "patient_id": e.patient_id, "outcome": e.outcome, "detail": detail,
                     "prev_hash": "", "hash": ""})
        if e.patient_id is not None and e.action not in READS and e.outcome == "ok":
            bumps[e.patient_id] += 1
    insert_rows(session, AuditEvent, rows)
    written(session)
    by_count: dict[int, list[int]] = {}
    for patient_id, times in bumps.items():
        by_count.setdefault(times, []).append(patient_id)
    for times, patient_ids in by_count.items():
        for start in range(0, len(patient_ids), 10_000):
            session.execute(
                update(Patient)
                .where(Patient.id.in_(patient_ids[start:start + 10_000]))
                .values(record_version=Patient.record_version + times)
                .execution_options(synchronize_session=False)
            )


def _events(session: Session) -> Any:
    """Every chained event in chain order, streamed."""
    return session.execute(chained_events(), execution_options={"yield_per": 10_000})


@use_case()
def chain_trail(session: Session) -> int:
    """Chain every event committed so far (waiting for a chainer at work); ``audit verify``
    and ``audit checkpoint`` run this first, so they cover every committed event."""
    return chain_pending(session.connection(), wait=True)


@use_case()
def verify_trail(session: Session) -> Verdict:
    """Check the whole hash chain."""
    return verify(_events(session))


@use_case()
def verify_anchored_trail(session: Session, checkpoints: Path, key: Path) -> AnchoredVerdict:
    """Check the chain and every signed checkpoint in the checkpoint file against it."""
    return audit_anchor.verify_anchored(_events(session), checkpoints, key)


@use_case()
def checkpoint_trail(session: Session, checkpoints: Path, key: Path) -> Checkpoint:
    """Check the chain and append a signed checkpoint of its head to the checkpoint file."""
    return audit_anchor.checkpoint(_events(session), checkpoints, key)


@use_case()
def patient_events(session: Session, patient_id: int) -> list[Any]:
    """Every recorded read and change of one patient's data, oldest first, with who."""
    t, u = AuditEvent.__table__, User.__table__
    return list(session.execute(
        select(t.c.id, t.c.at, u.c.username, u.c.role, t.c.action, t.c.entity,
               t.c.entity_id, t.c.outcome, t.c.detail)
        .select_from(t.outerjoin(u, u.c.id == t.c.user_id))
        .where(t.c.patient_id == patient_id).order_by(t.c.id)).all())
