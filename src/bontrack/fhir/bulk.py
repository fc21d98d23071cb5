"""Bulk Data $export jobs: NDJSON files written by a worker while the client polls the
status URL (FHIR Bulk Data Access IG, async pattern).

A job is a row in the ``jobs`` table (``store/jobs.py``), not a thread of the process that
started it: any server process answers status, download and cancel for any job, its files
live in the shared export folder (``BONTRACK_EXPORT_DIR``), and it is run by whichever
worker claims it: a thread in each server (``Runner``, unless BONTRACK_JOBS_IN_SERVER=off)
or ``bontrack worker`` processes. A worker renews its lease after each batch of patients;
a job whose worker died (killed, restarted) is claimed again when its lease runs out and
starts over, and one claimed ``MAX_ATTEMPTS`` times is failed with the reason.

A job is seen, downloaded and cancelled only by the user who started it and by the admins
of that clinic; anyone else is told it does not exist (issue 15: a nurse or patient holding
the URL downloaded the whole clinic). Its files are private (0600 in a 0700 folder) and
removed, with the job, a retention period after it ended
(``bontrack.config.export_retention_hours``) by a sweep run whenever an export is started
or polled; folders no job owns are swept by their age. A failed export says so in general
terms; the cause goes to the server log.

The kick-off's parameters (``parse_request``) follow the Bulk Data Access IG v2.0.0,
"Query Parameters": ``_type`` (comma-separated, repeatable), ``_since`` (a FHIR instant:
only resources whose ``meta.lastUpdated`` is later) and ``_outputFormat``. Anything else, or
a type not exported here, is refused with 400 naming it, unless the request says
``Prefer: handling=lenient``: then it is ignored and reported, one OperationOutcome per
parameter, in the manifest's ``error`` file (the IG's ``error`` field).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bontrack.config import export_retention_hours
from bontrack.errors import NotFound, RecordError
from bontrack.fhir.export import TYPES, context, dumps, write_ndjson
from bontrack.reference import Reference
from bontrack.store import jobs as queue
from bontrack.store.db import reader_engine, session_factory
from bontrack.store.models import Job, Patient
from bontrack.store.uow import Database

LOG = logging.getLogger("bontrack.export")
#: a job's id, and the name of its folder under the export root
JOB_ID = re.compile(r"[0-9a-f]{24}")
FHIR_EXPORT = "fhir-export"
#: The manifest's ``error`` file: what a lenient kick-off ignored (OperationOutcome lines).
OUTCOMES = "OperationOutcome"
#: ``_outputFormat`` values taken (the IG: the full type and its two abbreviations).
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
#: A FHIR ``instant`` (R4 datatypes): a full time with seconds and a zone.
INSTANT = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|"
    r"3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?"
    r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))")


@dataclass(frozen=True)
class ExportRequest:
    """What a kick-off asks for, once its parameters are read: the types (registry order),
    the ``_since`` instant, and what a lenient request had ignored (reported in the
    manifest's ``error`` file)."""

    types: tuple[str, ...] = TYPES
    since: datetime | None = None
    ignored: tuple[str, ...] = ()


def parse_since(raw: str) -> datetime:
    """``_since``: a FHIR instant with its zone, else a 400 naming ``_since``."""
    if not INSTANT.fullmatch(raw):
        hint = (" (a '+' in a URL must be written %2B)" if " " in raw else "")
        raise RecordError(f"_since: {raw!r} is not a FHIR instant with a time zone, like "
                          f"2026-01-31T08:00:00Z{hint}", field="_since")
    try:
        since = datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise RecordError(f"_since: {raw!r} is not a real time", field="_since") from None
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC (issue 17, F7)
        raise RecordError(f"_since: {raw!r} is outside the years 1-9999 in UTC",
                          field="_since") from None
    return since


def parse_request(params: list[tuple[str, str]], lenient: bool = False,
                  exportable: tuple[str, ...] = TYPES) -> ExportRequest:
    """Read a kick-off's parameters. Refuses (400, naming the parameter) an unknown
    parameter, a type not exported, an output format other than NDJSON; with ``lenient``
    those are ignored and listed instead. A ``_since`` that is not an instant is refused
    either way: ignoring it would export far more than was asked for."""
    asked: list[str] = []
    since: datetime | None = None
    ignored: list[str] = []

    def refuse(problem: str, name: str, what: str) -> None:
        if not lenient:
            raise RecordError(problem, field=name)
        ignored.append(what)

    for name, value in params:
        if name == "_type":
            asked += [t.strip() for t in value.split(",") if t.strip()]
        elif name == "_since":
            if since is not None:
                raise RecordError("_since: given more than once", field="_since")
            since = parse_since(value)
        elif name == "_outputFormat":
            if value not in OUTPUT_FORMATS:
                refuse(f"_outputFormat: only {OUTPUT_FORMATS[0]} is supported", name,
                       f"_outputFormat={value} (NDJSON written)")
        else:
            refuse(f"{name}: not supported by this $export; supported: _type, _since, "
                   "_outputFormat", name, f"{name}={value}")
    bad = list(dict.fromkeys(t for t in asked if t not in exportable))
    if bad:
        refuse(f"_type: cannot export {', '.join(bad)}; exportable: "
               f"{', '.join(exportable)}", "_type", f"_type={','.join(bad)}")
    types = tuple(t for t in exportable if t in asked) if asked else exportable
    return ExportRequest(types, since, tuple(ignored))


def outcomes(ignored: tuple[str, ...]) -> list[dict[str, Any]]:
    """One OperationOutcome per ignored parameter (a lenient kick-off's ``error`` file)."""
    return [{"resourceType": "OperationOutcome", "issue": [{
        "severity": "warning", "code": "not-supported",
        "diagnostics": f"ignored (Prefer: handling=lenient): {what}"}]} for what in ignored]


class Cancelled(Exception):
    """Raised inside the worker when its job was cancelled (or claimed by another worker
    after this one's lease ran out)."""


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


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobView:
    """A job as its row said when it was read (what the status route answers)."""

    id: str
    clinic_id: int
    user_id: int
    state: str  # queued, running, complete, failed, cancelled
    request: str
    types: tuple[str, ...]
    transaction_time: str
    total: int
    done: int
    error: str
    counts: dict[str, int]
    #: ``_since`` as an ISO instant ("" when not given)
    since: str = ""
    #: what a lenient kick-off ignored (the manifest's ``error`` file)
    ignored: tuple[str, ...] = ()
    #: the Group (clinic) id of a ``Group/[id]/$export`` (None: system or Patient level)
    group: int | None = None

    @classmethod
    def of(cls, job: Job) -> JobView:
        p = job.params
        group = p.get("group")
        return cls(id=job.id, clinic_id=job.clinic_id, user_id=job.user_id, state=job.state,
                   request=str(p.get("request", "")), types=tuple(p.get("types", ())),
                   transaction_time=str(p.get("transaction_time", "")), total=job.total,
                   done=job.done, error=job.error,
                   counts=dict((job.result or {}).get("counts", {})),
                   since=str(p.get("since") or ""), ignored=tuple(p.get("ignored", ())),
                   group=int(group) if group is not None else None)

    def visible_to(self, who: Requester) -> bool:
        return self.clinic_id == who.clinic_id and (who.admin or self.user_id == who.user_id)

    @property
    def pending(self) -> bool:
        """Not finished yet: queued or running (the client polls again)."""
        return self.state in ("queued", "running")

    @property
    def progress(self) -> str:
        pct = 100 * self.done // self.total if self.total else 100
        if self.state == "queued":
            return f"queued ({self.total} patients)"
        return f"{pct}% ({self.done} of {self.total} patients)"


@dataclass
class Work:
    """What a job's handler is given: the job, its folder, and ``advance`` to report
    progress (which raises ``Cancelled`` when the job is no longer this worker's)."""

    job: JobView
    directory: Path
    db: Database
    ref: Reference
    advance: Callable[[int], None]


#: A job kind's handler: does the work, returns the job's result (stored as JSON).
Handler = Callable[[Work], dict[str, Any]]


def run_fhir_export(work: Work) -> dict[str, Any]:
    """Write the clinic's NDJSON files from a snapshot that holds no writer lock (only
    resources changed after ``_since`` when it was given), and the ``error`` file of what a
    lenient kick-off ignored."""
    job = work.job
    since = datetime.fromisoformat(job.since) if job.since else None
    with work.db.reading() as uow:
        counts = write_ndjson(uow.session, context(uow.session, work.ref), work.directory,
                              job.clinic_id, job.types, on_patients=work.advance,
                              since=since)
    if job.ignored:
        (work.directory / f"{OUTCOMES}.ndjson").write_text(
            "".join(dumps(o) + "\n" for o in outcomes(job.ignored)))
    return {"counts": counts}


@dataclass
class Jobs:
    """The export jobs of one database, seen from one process: start, status, files,
    cancel, the retention sweep, and (``runner``) this process's worker thread."""

    root: Path
    db: Database
    ref: Reference
    run_here: bool = True
    lease: timedelta = queue.LEASE
    handlers: dict[str, Handler] = field(default_factory=lambda: {FHIR_EXPORT: run_fhir_export})
    _runner: Runner | None = field(default=None, init=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _look: sessionmaker[Session] | None = field(default=None, init=False, repr=False)

    # -- the server side: start, status, files, cancel -------------------------------------

    def start(self, session: Session, who: Requester, types: tuple[str, ...], request: str,
              asked: ExportRequest | None = None, group: int | None = None) -> JobView:
        """Queue an export of the requester's clinic in the caller's transaction; a worker
        picks it up once that commits (this process's runner is woken at the commit).
        ``asked`` carries ``_since`` and what a lenient kick-off ignored; ``group`` the
        Group (the clinic) of a ``Group/[id]/$export``, already checked by the caller."""
        self.sweep(session)
        asked = asked or ExportRequest(types)
        total = session.scalar(select(func.count()).select_from(Patient)
                               .where(Patient.clinic_id == who.clinic_id)) or 0
        params: dict[str, Any] = {"types": list(types), "request": request,
                                  "transaction_time": now().isoformat()}
        if asked.since is not None:
            params["since"] = asked.since.isoformat()
        if asked.ignored:
            params["ignored"] = list(asked.ignored)
        if group is not None:
            params["group"] = group
        job = queue.enqueue(session, secrets.token_hex(12), FHIR_EXPORT, who.clinic_id,
                            who.user_id, params, total, now())
        session.flush()
        runner = self.runner()
        if runner is not None:
            event.listen(session, "after_commit", lambda _s: runner.wake.set(), once=True)
        return JobView.of(job)

    def get(self, session: Session, job_id: str, who: Requester) -> JobView:
        """The job, if ``who`` may see it; anyone else is told it does not exist."""
        self.sweep(session)
        self.runner()
        row = queue.find(session, job_id) if JOB_ID.fullmatch(job_id) else None
        job = JobView.of(row) if row is not None else None
        if job is None or not job.visible_to(who) or job.state == "cancelled":
            raise NotFound("export job not found")
        return job

    def delete(self, session: Session, job_id: str, who: Requester) -> None:
        """Cancel the job (its worker stops at its next batch) and remove its files."""
        job = self.get(session, job_id, who)
        queue.cancel(session, job.id, now())
        shutil.rmtree(self.root / job.id, ignore_errors=True)

    def file(self, session: Session, job_id: str, who: Requester, name: str) -> Path:
        job = self.get(session, job_id, who)
        stem = name.removesuffix(".ndjson")
        path = self.root / job.id / f"{stem}.ndjson"
        listed = stem in job.types or (stem == OUTCOMES and bool(job.ignored))
        if (job.state != "complete" or not listed or not name.endswith(".ndjson")
                or not path.is_file()):
            raise NotFound("export file not found")
        return path

    def sweep(self, session: Session, at: float | None = None) -> int:
        """Forget jobs that ended longer than the retention period ago and remove their
        files, and folders under the root that old which no job owns (left by a job already
        forgotten, or by an earlier version). Returns the number of folders removed."""
        at = time.time() if at is None else at
        limit = at - export_retention_hours() * 3600
        old = queue.expired(session, datetime.fromtimestamp(limit, UTC))
        queue.forget(session, old)
        for job_id in old:
            shutil.rmtree(self.root / job_id, ignore_errors=True)
        removed = 0
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if not JOB_ID.fullmatch(folder.name) or not folder.is_dir():
                    continue  # only folders named like a job are bontrack's to remove
                try:
                    stale = folder.stat().st_mtime < limit
                except OSError:
                    continue
                if stale and queue.find(session, folder.name) is None:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        return removed + len(old)

    # -- the worker side --------------------------------------------------------------------

    def runner(self) -> Runner | None:
        """This process's worker thread, started the first time it is asked for (None when
        jobs run only in ``bontrack worker`` processes)."""
        if not self.run_here:
            return None
        with self._guard:
            if self._runner is None or not self._runner.is_alive():
                self._runner = Runner(self)
                self._runner.start()
            return self._runner

    def stop(self) -> None:
        """Stop this process's worker thread (its job, if any, is stopped at its next batch
        and claimed again by another worker once the lease runs out)."""
        with self._guard:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop.set()
            runner.wake.set()
            runner.join(timeout=10)
        look, self._look = self._look, None
        if look is not None and look.kw["bind"] is not self.db.engine:
            look.kw["bind"].dispose()

    def _looking(self) -> Session:
        """A session that reads the primary without taking the writer lock."""
        if self._look is None:
            self._look = session_factory(reader_engine(self.db.engine), writer=False)
        return self._look()

    def run_once(self, worker: str) -> str | None:
        """Claim one job and run it to its end. Returns its id, or None if none was due."""
        t = now()
        # look with a plain read of the primary first (no write lock each second), then claim
        with self._looking() as look:
            if not queue.due(look, t, tuple(self.handlers)):
                return None
        with self.db.unit_of_work() as uow:
            for job_id in queue.fail_exhausted(uow.session, t, _EXHAUSTED):
                LOG.error("export job %s failed: its worker stopped %d times", job_id,
                          queue.MAX_ATTEMPTS)
            row = queue.claim(uow.session, worker, t, tuple(self.handlers), self.lease)
            job = JobView.of(row) if row is not None else None
            kind = row.kind if row is not None else ""
            uow.commit()
        if job is None:
            return None
        self._run(job, kind, worker)
        return job.id

    def _run(self, job: JobView, kind: str, worker: str) -> None:
        directory = self.root / job.id
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            with self.db.unit_of_work() as uow:
                mine = queue.renew(uow.session, job.id, worker, done, now(), self.lease)
                uow.commit()
            if not mine:
                raise Cancelled()

        try:
            private_folder(self.root)
            shutil.rmtree(directory, ignore_errors=True)  # a job claimed again starts over
            private_folder(directory)
            result = self.handlers[kind](Work(job, directory, self.db, self.ref, advance))
            for path in directory.iterdir():
                os.chmod(path, 0o600)
            if not self._end(job.id, worker, "complete", result=result):
                raise Cancelled()
        except Cancelled:
            self._drop_if_cancelled(job.id, directory)
        except Exception:  # the cause to the log; the client is told it failed
            incident = secrets.token_hex(6)
            LOG.exception("incident %s: bulk export %s failed", incident, job.id)
            self._end(job.id, worker, "failed", error=(
                f"the export failed (incident {incident}); the details are in the "
                "server's log"))
            shutil.rmtree(directory, ignore_errors=True)

    def _end(self, job_id: str, worker: str, state: str, **kw: Any) -> bool:
        with self.db.unit_of_work() as uow:
            ended = queue.finish(uow.session, job_id, worker, state, now(), **kw)
            uow.commit()
        return ended

    def _drop_if_cancelled(self, job_id: str, directory: Path) -> None:
        """Remove a stopped job's files if it was cancelled; if another worker claimed it
        meanwhile, the folder is that worker's now."""
        with self.db.unit_of_work() as uow:
            row = queue.find(uow.session, job_id)
            cancelled = row is None or row.state == "cancelled"
        if cancelled:
            shutil.rmtree(directory, ignore_errors=True)


_EXHAUSTED = (f"the export stopped {queue.MAX_ATTEMPTS} times without finishing (its worker "
              "was stopped or ran out of memory); start it again, or export fewer types")


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Runner(threading.Thread):
    """Claims and runs jobs until stopped: woken when this process queued a job, and
    otherwise polling the table every ``poll`` seconds (for jobs queued by other processes
    and for abandoned ones)."""

    def __init__(self, jobs: Jobs, poll: float = 1.0) -> None:
        super().__init__(daemon=True, name="bontrack-jobs")
        self.jobs, self.poll = jobs, poll
        self.worker = worker_name()
        self.wake, self.stop = threading.Event(), threading.Event()
        self._logged = 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                ran = self.jobs.run_once(self.worker) is not None
            except Exception:  # the database is away: say so once a minute, keep trying
                if time.monotonic() - self._logged > 60:
                    self._logged = time.monotonic()
                    LOG.exception("the job worker cannot reach the database")
                ran = False
            if not ran:
                self.wake.wait(self.poll)
                self.wake.clear()
