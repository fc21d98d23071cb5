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

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from bontrack.errors import StaleRead

#: ``session.info`` key of a reading unit of work's events not yet handed to the writer.
PENDING = "bontrack.audit_pending"
#: ``session.info`` key: this transaction wrote audit events (the chainer is poked after it
#: commits).
AUDITED = "bontrack.audited"


Batch = list[tuple[list[Mapping[str, Any]], Future[None]]]


class AuditWriter:
    """The writer thread; ``submit`` returns a future that completes when the events are
    committed. ``write(rows)`` inserts and commits a batch (``Database._write_reads``)."""

    def __init__(self, write: Callable[[list[Mapping[str, Any]]], None]) -> None:
        self._write_rows = write
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
            self._write_rows(rows)
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


Rows = list[Mapping[str, Any]]


class LoopCommit:
    """Group commit on the event loop itself, for SQLite, whose commits are local and
    short: a request awaits ``record(rows)``; the events of every request that reaches
    that point in the same turn of the loop or the next are written by one callback, in
    one transaction, right after that. No thread is woken and no wake-up crosses threads
    (the writer thread's hand-offs cost as much CPU as a timeline GET itself, issue 16).
    ``try_write(rows)`` must not wait: when the write lock is held elsewhere it returns
    False having written nothing, and the batch goes to the ``AuditWriter`` instead."""

    def __init__(self, try_write: Callable[[Rows], bool], writer: Callable[[], AuditWriter]
                 ) -> None:
        self._try_write = try_write
        self._writer = writer
        self._pending: dict[asyncio.AbstractEventLoop,
                            list[tuple[Rows, asyncio.Future[None]]]] = {}

    async def record(self, rows: Rows) -> None:
        """Return once ``rows`` are committed (raise if they could not be)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            # Two turns of the loop: the requests read from the sockets in the next
            # turn join this batch too (issue 16: 3.6 -> 6.8 events a commit under wrk's
            # 8 connections). When nothing else arrives, a turn costs a few microseconds.
            loop.call_soon(loop.call_soon, self._flush, loop)
        pending.append((rows, future))
        await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop)
        rows = [row for events, _ in batch for row in events]
        futures = [future for _, future in batch]
        try:
            written = self._try_write(rows)
        except BaseException as exc:
            _settle(futures, exc)
            return
        if written:
            _settle(futures, None)
            return
        handed = asyncio.wrap_future(self._writer().submit(rows), loop=loop)
        handed.add_done_callback(lambda done: _settle(
            futures, RuntimeError("the audit writer dropped a batch of read events")
            if done.cancelled() else done.exception()))


class LoopCommitAsync:
    """``LoopCommit`` for a server database, whose commit is a round trip and a flush to
    disk: one batch at a time is written by a task of the loop (``write(rows, vouches)``,
    on the loop's own connection), and the requests that arrive meanwhile make up the next
    batch. No thread is involved.

    A request may send vouches with its events (``store.kept_pg``): kept rows it answered
    from, which ``write`` checks in the batch's own statement. When ``write`` returns
    False, a kept row had changed and nothing was written: the requests that sent vouches
    get ``StaleRead`` (they take the full path), and the others' events go in the next
    batch."""

    def __init__(self, write: Callable[[Rows, list[Any]], Awaitable[bool]]) -> None:
        self._write = write
        self._pending: dict[asyncio.AbstractEventLoop,
                            list[tuple[Rows, Sequence[Any], asyncio.Future[None]]]] = {}
        self._running: set[asyncio.AbstractEventLoop] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def record(self, rows: Rows, vouches: Sequence[Any] = ()) -> None:
        """Return once ``rows`` are committed (raise if they could not be, ``StaleRead``
        if a row of ``vouches`` had changed)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.setdefault(loop, []).append((rows, vouches, future))
        if loop not in self._running:
            self._running.add(loop)
            task = loop.create_task(self._drain(loop))
            self._tasks.add(task)  # held until done (the loop keeps only weak references)
            task.add_done_callback(self._tasks.discard)
        await future

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while batch := self._pending.pop(loop, []):
                rows = [row for events, _, _ in batch for row in events]
                vouches = [vouch for _, vouched, _ in batch for vouch in vouched]
                futures = [future for _, _, future in batch]
                try:
                    written = await self._write(rows, vouches)
                except BaseException as exc:
                    _settle(futures, exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                if written:
                    _settle(futures, None)
                    continue
                if not vouches:  # never expected: only a check refuses a batch
                    _settle(futures, RuntimeError("a batch of read events was refused"))
                    continue
                _settle([future for _, vouched, future in batch if vouched], StaleRead())
                again = [entry for entry in batch if not entry[1]]
                self._pending[loop] = again + self._pending.get(loop, [])
        finally:
            self._running.discard(loop)
            for _, _, future in self._pending.pop(loop, []):  # the loop is going away
                if not future.done():
                    future.cancel()


def _settle(futures: list[asyncio.Future[None]], exc: BaseException | None) -> None:
    for future in futures:
        if future.done():  # its request was cancelled (the client went away)
            continue
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)
