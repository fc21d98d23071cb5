"""Group commit of read events: one writer thread per process commits the audit events of
many reading requests in one transaction.

A read is audited, so on SQLite every GET used to be a write transaction queued behind every
other. Now a reading unit of work (``store.uow``) collects its events in
``session.info[PENDING]`` and hands them over when it commits; the writer inserts whatever
has arrived meanwhile with one statement and one commit, then tells each request its events
are committed. Every event is still committed before its request is answered; a failed
batch fails each of its requests (an error, never a silent loss).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import insert

from bontrack.store.bulk import table_of
from bontrack.store.models import AuditEvent

#: ``session.info`` key of a reading unit of work's events not yet handed to the writer.
PENDING = "bontrack.audit_pending"
#: ``session.info`` key: this transaction wrote audit events (the chainer is poked after it
#: commits).
AUDITED = "bontrack.audited"


class _Work(Protocol):
    @property
    def session(self) -> Any: ...

    def commit(self) -> None: ...


#: The batch's one statement, built once; run on the session's connection (Core), which
#: skips the ORM's execution layer: the writer's CPU is paid once per batch of reads.
INSERT = insert(table_of(AuditEvent))

Batch = list[tuple[list[Mapping[str, Any]], Future[None]]]


class AuditWriter:
    """The writer thread; ``submit`` returns a future that completes when the events are
    committed."""

    def __init__(self, unit_of_work: Callable[[], AbstractContextManager[_Work]]) -> None:
        self._unit_of_work = unit_of_work
        self._queue: Batch = []
        self._ready = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: list[Mapping[str, Any]]) -> Future[None]:
        future: Future[None] = Future()
        with self._ready:
            if self._stopping:
                raise RuntimeError("the audit writer is stopped")
            self._queue.append((rows, future))
            self._ready.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                batch, self._queue = self._queue, []
                if not batch and self._stopping:
                    return
            self._write(batch)

    def _write(self, batch: Batch) -> None:
        rows = [row for events, _ in batch for row in events]
        try:
            with self._unit_of_work() as uow:
                uow.session.connection().execute(INSERT, rows)
                uow.session.info[AUDITED] = True
                uow.commit()
        except BaseException as exc:
            for _, future in batch:
                future.set_exception(exc)
            return
        for _, future in batch:
            future.set_result(None)

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join(timeout=30)
