"""Bulk Data $export jobs: a background thread writes NDJSON files under the export
directory while the client polls the status URL (FHIR Bulk Data Access IG, async pattern).

Jobs live in memory (a restart forgets running jobs). A job is seen, downloaded and
cancelled only by the user who started it and by the admins of that clinic; anyone else is
told it does not exist (issue 15: a nurse or patient holding the URL downloaded the whole
clinic). Its files are private (0600 in a 0700 folder) and removed, with the job, a
retention period after it ended (``bontrack.config.export_retention_hours``) by a sweep run
whenever an export is started or polled; folders left by an earlier process are swept by
their age. A failed export says so in general terms; the cause goes to the server log.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.config import export_retention_hours
from bontrack.errors import NotFound
from bontrack.fhir.export import write_ndjson
from bontrack.fhir.mapping import Context
from bontrack.store.models import Patient
from bontrack.store.uow import UnitOfWork

LOG = logging.getLogger("bontrack.export")
#: a job's id, and the name of its folder under the export root
JOB_ID = re.compile(r"[0-9a-f]{24}")


class Cancelled(Exception):
    """Raised inside the worker when the client deleted the job."""


@dataclass(frozen=True)
class Requester:
    """Who asks about a job: only its starter and the admins of its clinic may see it."""

    user_id: int
    clinic_id: int
    admin: bool = False


def private_folder(path: Path) -> Path:
    """Make ``path`` (and missing parents) readable by this process's user alone (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


@dataclass
class Job:
    id: str
    clinic_id: int
    user_id: int
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
    #: when the job ended (time.time()), for the retention sweep; None while running
    ended: float | None = None

    def visible_to(self, who: Requester) -> bool:
        return self.clinic_id == who.clinic_id and (who.admin or self.user_id == who.user_id)

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
              who: Requester, types: tuple[str, ...], request: str) -> Job:
        """Count in the caller's transaction, then write in a thread in a unit of work
        from ``reading`` (a snapshot that holds no writer lock: see Database.reading)."""
        self.sweep()
        job_id = secrets.token_hex(12)
        job = Job(id=job_id, clinic_id=who.clinic_id, user_id=who.user_id,
                  directory=self.root / job_id, request=request, types=types)
        job.total = session.scalar(select(func.count()).select_from(Patient)
                                   .where(Patient.clinic_id == who.clinic_id)) or 0
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
            private_folder(self.root)
            private_folder(job.directory)
            with reading() as uow:
                job.counts = write_ndjson(uow.session, ctx, job.directory, job.clinic_id,
                                          job.types, on_patients=advance)
            for path in job.directory.iterdir():
                os.chmod(path, 0o600)
            job.state = "complete"
        except Cancelled:
            job.state = "cancelled"
            shutil.rmtree(job.directory, ignore_errors=True)
        except Exception:  # the cause to the log; the client is told it failed
            incident = secrets.token_hex(6)
            LOG.exception("incident %s: bulk export %s failed", incident, job.id)
            job.state = "failed"
            job.error = (f"the export failed (incident {incident}); the details are in the "
                         "server's log")
            shutil.rmtree(job.directory, ignore_errors=True)
        finally:
            job.ended = time.time()

    def sweep(self, now: float | None = None) -> int:
        """Forget jobs that ended longer than the retention period ago and remove their
        files, and folders under the root that old left by an earlier process. Returns the
        number of folders removed."""
        now = time.time() if now is None else now
        limit = now - export_retention_hours() * 3600
        with self._lock:
            old = [j for j in self._jobs.values() if j.ended is not None and j.ended < limit]
            for j in old:
                del self._jobs[j.id]
            live = set(self._jobs)
        removed = 0
        for j in old:
            shutil.rmtree(j.directory, ignore_errors=True)
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if (folder.name in live or not JOB_ID.fullmatch(folder.name)
                        or not folder.is_dir()):
                    continue  # only folders named like a job are bontrack's to remove
                try:
                    stale = folder.stat().st_mtime < limit
                except OSError:
                    continue
                if stale:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        return removed + len(old)

    def get(self, job_id: str, who: Requester) -> Job:
        """The job, if ``who`` may see it; anyone else is told it does not exist."""
        self.sweep()
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or not job.visible_to(who) or job.state == "cancelled":
            raise NotFound("export job not found")
        return job

    def delete(self, job_id: str, who: Requester) -> None:
        job = self.get(job_id, who)
        job.cancel.set()
        if job.state != "running":
            job.state = "cancelled"
            shutil.rmtree(job.directory, ignore_errors=True)

    def file(self, job_id: str, who: Requester, name: str) -> Path:
        job = self.get(job_id, who)
        stem = name.removesuffix(".ndjson")
        if job.state != "complete" or stem not in job.types or not name.endswith(".ndjson"):
            raise NotFound("export file not found")
        return job.directory / f"{stem}.ndjson"
