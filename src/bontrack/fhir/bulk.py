"""Bulk Data $export jobs: a background thread writes NDJSON files under the export
directory while the client polls the status URL (FHIR Bulk Data Access IG, async pattern).

Jobs live in memory (a restart forgets running jobs; their files stay on disk until
removed); a job belongs to the clinic that started it, and only that clinic's staff can
poll it or download its files.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.errors import NotFound
from bontrack.fhir.export import write_ndjson
from bontrack.fhir.mapping import Context
from bontrack.store.models import Patient
from bontrack.store.uow import UnitOfWork


class Cancelled(Exception):
    """Raised inside the worker when the client deleted the job."""


@dataclass
class Job:
    id: str
    clinic_id: int
    directory: Path
    request: str
    types: tuple[str, ...]
    transaction_time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    total: int = 0
    done: int = 0
    state: str = "running"  # running, complete, failed, cancelled
    error: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def progress(self) -> str:
        pct = 100 * self.done // self.total if self.total else 100
        return f"{pct}% ({self.done} of {self.total} patients)"


class Jobs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, session: Session, reading: Callable[[], UnitOfWork], ctx: Context,
              clinic_id: int, types: tuple[str, ...], request: str) -> Job:
        """Count in the caller's transaction, then write in a thread in a unit of work
        from ``reading`` (a snapshot that holds no writer lock: see Database.reading)."""
        job_id = secrets.token_hex(12)
        job = Job(id=job_id, clinic_id=clinic_id, directory=self.root / job_id,
                  request=request, types=types)
        job.total = session.scalar(select(func.count()).select_from(Patient)
                                   .where(Patient.clinic_id == clinic_id)) or 0
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(reading, ctx, job), daemon=True,
                         name=f"fhir-export-{job.id[:6]}").start()
        return job

    def _run(self, reading: Callable[[], UnitOfWork], ctx: Context, job: Job) -> None:
        def advance(n: int) -> None:
            if job.cancel.is_set():
                raise Cancelled()
            job.done += n

        try:
            with reading() as uow:
                job.counts = write_ndjson(uow.session, ctx, job.directory, job.clinic_id, job.types,
                                          on_patients=advance)
            job.state = "complete"
        except Cancelled:
            job.state = "cancelled"
            shutil.rmtree(job.directory, ignore_errors=True)
        except Exception as exc:  # reported through the status URL, never lost
            job.state = "failed"
            job.error = f"{type(exc).__name__}: {exc}"

    def get(self, job_id: str, clinic_id: int) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.clinic_id != clinic_id or job.state == "cancelled":
            raise NotFound(f"export job {job_id} not found")
        return job

    def delete(self, job_id: str, clinic_id: int) -> None:
        job = self.get(job_id, clinic_id)
        job.cancel.set()
        if job.state != "running":
            job.state = "cancelled"
            shutil.rmtree(job.directory, ignore_errors=True)

    def file(self, job_id: str, clinic_id: int, name: str) -> Path:
        job = self.get(job_id, clinic_id)
        stem = name.removesuffix(".ndjson")
        if job.state != "complete" or stem not in job.types or not name.endswith(".ndjson"):
            raise NotFound(f"export file {name} not found")
        return job.directory / f"{stem}.ndjson"
