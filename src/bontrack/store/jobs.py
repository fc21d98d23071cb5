"""The job table as a queue: enqueue in the caller's transaction, claim one job for a worker,
renew its lease as it works, end it (complete, failed, cancelled).

Claiming is safe with any number of worker processes: on PostgreSQL the oldest claimable row
is locked with ``FOR UPDATE SKIP LOCKED`` (two workers never wait on, nor take, the same job);
on SQLite one ``UPDATE ... WHERE id = (SELECT ...)`` statement claims it (SQLite has one
writer at a time, so the statement is atomic). A job is claimable when it is queued, or when
it is running but its lease ran out (its worker died: killed, or the machine restarted).
Every change of a running job names the worker and the state it expects, so a worker that
lost its lease, or whose job was cancelled meanwhile, finds that out and stops.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, and_, or_, select, update
from sqlalchemy.orm import Session

from bontrack.store.models import Job

#: How long a claim lasts without renewal; a worker renews it after each batch of patients.
LEASE = timedelta(seconds=60)
#: A job claimed this many times without finishing is failed, not tried again.
MAX_ATTEMPTS = 3

def enqueue(session: Session, job_id: str, kind: str, clinic_id: int, user_id: int,
            params: dict[str, Any], total: int, now: datetime) -> Job:
    """A queued job, written in the caller's transaction (it exists once that commits)."""
    job = Job(id=job_id, kind=kind, clinic_id=clinic_id, user_id=user_id, state="queued",
              params=params, result={}, total=total, done=0, error="", worker="", attempts=0,
              created_at=now)
    session.add(job)
    return job


def due(session: Session, now: datetime, kinds: tuple[str, ...]) -> bool:
    """Whether any job of ``kinds`` waits to be claimed (a read: an idle worker asks this
    first, so looking every second takes no write lock)."""
    return session.scalar(select(Job.id).where(Job.kind.in_(kinds), or_(
        Job.state == "queued", and_(Job.state == "running", Job.lease_until < now)))
        .limit(1)) is not None


def claim(session: Session, worker: str, now: datetime, kinds: tuple[str, ...],
          lease: timedelta = LEASE) -> Job | None:
    """Claim the oldest queued (or abandoned) job of ``kinds`` for ``worker``; the caller
    commits. None when there is nothing to do."""
    ready = and_(Job.kind.in_(kinds), or_(
        Job.state == "queued", and_(Job.state == "running", Job.lease_until < now)))
    oldest = select(Job.id).where(ready).order_by(Job.created_at, Job.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        job_id = session.scalar(oldest.with_for_update(skip_locked=True))
        if job_id is None:
            return None
        target = Job.id == job_id
    else:
        target = Job.id == oldest.scalar_subquery()
    claimed = session.scalar(
        update(Job).where(target, ready)
        .values(state="running", worker=worker, lease_until=now + lease,
                attempts=Job.attempts + 1, done=0)
        .returning(Job.id).execution_options(synchronize_session=False))
    if claimed is None:
        return None
    job = session.get(Job, claimed, populate_existing=True)
    return job


def renew(session: Session, job_id: str, worker: str, done: int, now: datetime,
          lease: timedelta = LEASE) -> bool:
    """Record progress and extend the lease. False when the job is no longer this worker's
    to run (cancelled, or claimed by another after the lease ran out): stop."""
    return _changed(session, update(Job).where(
        Job.id == job_id, Job.worker == worker, Job.state == "running")
        .values(done=done, lease_until=now + lease))


def finish(session: Session, job_id: str, worker: str, state: str, now: datetime,
           result: dict[str, Any] | None = None, error: str = "") -> bool:
    """End a running job as ``state`` (complete or failed), if it is still this worker's."""
    values: dict[str, Any] = {"state": state, "ended_at": now, "lease_until": None,
                              "error": error}
    if result is not None:
        values["result"] = result
    return _changed(session, update(Job).where(
        Job.id == job_id, Job.worker == worker, Job.state == "running").values(**values))


def cancel(session: Session, job_id: str, now: datetime) -> bool:
    """Mark a job cancelled: a running one's worker stops at its next renewal, a finished
    one's files are due for removal. False if it was already cancelled."""
    return _changed(session, update(Job).where(Job.id == job_id, Job.state != "cancelled")
                    .values(state="cancelled", ended_at=now, lease_until=None))


def _changed(session: Session, stmt: Update) -> bool:
    """Run an UPDATE of one job; whether it matched (its WHERE states what is expected)."""
    return session.scalar(stmt.returning(Job.id)
                          .execution_options(synchronize_session=False)) is not None


def fail_exhausted(session: Session, now: datetime, reason: str) -> list[str]:
    """Fail the abandoned jobs already claimed ``MAX_ATTEMPTS`` times (a job that kills its
    worker each time must not be retried for ever). Returns their ids."""
    ids = list(session.scalars(select(Job.id).where(
        Job.state == "running", Job.lease_until < now, Job.attempts >= MAX_ATTEMPTS)))
    if ids:
        session.execute(update(Job).where(Job.id.in_(ids), Job.state == "running")
                        .values(state="failed", ended_at=now, lease_until=None, error=reason)
                        .execution_options(synchronize_session=False))
    return ids


def find(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id, populate_existing=True)


def expired(session: Session, before: datetime) -> list[str]:
    """Ids of the jobs that ended before ``before`` (their files are due for removal)."""
    return list(session.scalars(select(Job.id).where(Job.ended_at < before)))


def forget(session: Session, job_ids: list[str]) -> None:
    """Delete job rows (a job is bookkeeping, not a clinical record)."""
    if job_ids:
        session.query(Job).filter(Job.id.in_(job_ids)).delete(synchronize_session=False)


__all__ = ["LEASE", "MAX_ATTEMPTS", "cancel", "claim", "due", "enqueue", "expired",
           "fail_exhausted", "find", "finish", "forget", "renew"]
