"""The unit of work: one transaction, opened by whoever runs a use case (a request, a
command) and committed by the use case itself (``bontrack.services.usecase``).

Leaving the ``with`` block without a commit rolls everything back, so a failure anywhere
leaves nothing half-saved. The edges (api, web, cli, reports) only ever hold a
``UnitOfWork`` and hand it to services; they never see a session or a model.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, event
from sqlalchemy.orm import Session, sessionmaker

from bontrack.store.audit_chain import Chainer, append_reads, chain_pending, place_batch
from bontrack.store.audit_writer import (
    AUDITED,
    PENDING,
    AuditWriter,
    LoopCommit,
    LoopCommitAsync,
)
from bontrack.store.bulk import table_of
from bontrack.store.db import (
    make_engine,
    reader_engine,
    refuse_writes,
    session_factory,
    writer_lock,
    writer_lock_if_free,
)
from bontrack.store.kept_pg import KeptAsync, Vouch
from bontrack.store.lean import KeptReads, LeanInsert, LeanSelect
from bontrack.store.loop_pg import LoopConnections
from bontrack.store.models import AuditEvent

LOG = logging.getLogger(__name__)
T = TypeVar("T")


def written(session: Session) -> None:
    """Note that ``session``'s transaction wrote audit events."""
    session.info[AUDITED] = True


class UnitOfWork:
    """``with uow: ... uow.commit()``. Re-entering an open unit of work is an error (one
    transaction, one owner).

    A reading unit of work (``Database.snapshot``, ``reading``) takes no writer lock: on SQLite its
    transaction is a deferred BEGIN (a WAL snapshot). The audit events of the reads it
    records are not written in it but handed, at commit, to the process's audit writer
    (``AuditWriter``, group commit); ``commit`` returns when they are committed (or
    ``audited()`` does, for an async route). Should a use case in it write anything else
    on SQLite, the reader refuses the statement (``NeedsWriter``) and the use case runs
    again after ``promote()`` in an ordinary write transaction."""

    def __init__(self, sessions: sessionmaker[Session],
                 lock: AbstractContextManager[Any] | None = None,
                 database: Database | None = None, wait: bool = True) -> None:
        self._sessions = sessions
        self._lock = lock if lock is not None else nullcontext()
        self._session: Session | None = None
        self._database = database  # set for a reading unit of work
        self._wait = wait
        self._futures: list[Future[None]] = []

    def __enter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        self._lock.__enter__()
        try:
            self._session = self._sessions()
            if self._database is not None:
                self._session.info[PENDING] = []
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        session, self._session = self._session, None
        try:
            if session is not None:
                try:
                    session.rollback()  # whatever the use case did not commit
                finally:
                    session.close()
        finally:
            self._lock.__exit__(kind, exc, tb)

    @property
    def session(self) -> Session:
        """The open session (for services and the store only)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `with uow:`")
        return self._session

    @property
    def is_open(self) -> bool:
        return self._session is not None

    def commit(self) -> None:
        session = self.session
        session.commit()
        pending = session.info.get(PENDING)
        if pending:
            assert self._database is not None
            future = self._database.audit_writer().submit(list(pending))
            pending.clear()
            if self._wait:
                future.result()
            else:
                self._futures.append(future)

    def rollback(self) -> None:
        session = self.session
        session.rollback()
        pending = session.info.get(PENDING)
        if pending:
            pending.clear()

    def promote(self) -> None:
        """Turn a reading unit of work into a writing one (after a rollback): the next
        transaction is an ordinary write transaction with the writer lock."""
        if self._database is None:
            raise RuntimeError("only a reading unit of work is promoted")
        database, self._database = self._database, None
        old = self.session
        old.close()
        lock = writer_lock(database.engine)
        lock.__enter__()
        self._lock.__exit__(None, None, None)
        self._lock = lock
        self._sessions = database._writers
        self._session = self._sessions()

    async def audited(self) -> None:
        """Wait (without a thread) until the audit events of every commit are committed."""
        futures, self._futures = self._futures, []
        for future in futures:
            await asyncio.wrap_future(future)


class Database:
    """What a process opens once: the engine and its units of work. Writers queue on the
    SQLite writer lock (see ``store.db.writer_lock``); a request that reads asks for
    ``snapshot()`` (the primary) and long read-only work (exports, reports) for
    ``reading()`` (the replica, if one is set): neither holds up writers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writers = session_factory(engine)
        self._snapshots: sessionmaker[Session] | None = None  # requests' reads: the primary
        self._readers: sessionmaker[Session] | None = None  # long reads: a replica, if set
        self._chainer: Chainer | None = None
        self._writer: AuditWriter | None = None
        self._chainer_lock = threading.Lock()
        self._lean: dict[int, LeanSelect] = {}  # by id() of the statement
        self._inserts: dict[tuple[str, ...], LeanInsert] = {}  # audit batches, by keys
        self._kept: KeptReads | None = None  # SQLite: the fast lane's lookups, kept
        self._loop_commit: LoopCommit | None = None
        self._loop_commit_async: LoopCommitAsync | None = None
        self._loop_pg: LoopConnections | None = None
        self._kept_pg: KeptAsync | None = None
        event.listen(self._writers, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(AUDITED, False):
            self.chainer().poke()

    def chainer(self) -> Chainer:
        """This process's audit chainer, started on first use."""
        if self._chainer is None:
            with self._chainer_lock:
                if self._chainer is None:
                    self._chainer = Chainer(self.chain_audit)
        return self._chainer

    def audit_writer(self) -> AuditWriter:
        """This process's writer of read events (group commit), started on first use."""
        if self._writer is None:
            with self._chainer_lock:
                if self._writer is None:
                    self._writer = AuditWriter(self._write_reads)
        return self._writer

    async def record_reads(self, rows: Sequence[Mapping[str, Any]],
                           vouches: Sequence[Vouch] = ()) -> None:
        """Commit the read events of a request that answers without a unit of work (the
        timeline's fast lane); return once they are committed. A group commit on the
        event loop: on SQLite ``LoopCommit`` (the audit writer's thread when the write lock
        is busy), on a server database ``LoopCommitAsync`` on the loop's own connections,
        which also checks the kept rows the request answered from (``vouches``, from
        ``lookup``) and raises ``StaleRead``, writing nothing of the request's, if one
        changed."""
        if self.dialect != "sqlite":
            if self._loop_commit_async is None:
                self._loop_commit_async = LoopCommitAsync(self._write_reads_async)
            await self._loop_commit_async.record(list(rows), vouches)
            return
        if vouches:
            raise ValueError("SQLite's kept lookups need no vouches")
        if self._loop_commit is None:
            self._loop_commit = LoopCommit(self._write_reads_now, self.audit_writer)
        await self._loop_commit.record(list(rows))

    def loop_connections(self) -> LoopConnections | None:
        """The running loop's own connections to a server database (``store.loop_pg``);
        None on SQLite, whose statements run on the loop as they are."""
        if self.dialect == "sqlite":
            return None
        if self._loop_pg is None:
            with self._chainer_lock:
                if self._loop_pg is None:
                    self._loop_pg = LoopConnections(self.engine)
        return self._loop_pg

    async def _write_reads_async(self, rows: list[Mapping[str, Any]],
                                 vouches: list[Vouch]) -> bool:
        """A batch of ``LoopCommitAsync`` on one of the loop's connections, in one round
        trip (``audit_chain.append_reads``): written only if every vouched kept row is
        unchanged (else nothing is written, the kept rows are dropped and False returned);
        chained as it is inserted when the chain's lock is free this instant, else left to
        the chainer (poked)."""
        connections = self.loop_connections()
        assert connections is not None
        events = self._insert_for(rows).json_array(rows)
        checks = self._kept_async().checks(vouches) if vouches else []
        async with connections.connection() as conn:
            placed = await append_reads(conn, events, checks)
        if placed is None:
            self._kept_async().drop(vouches)
            return False
        if not placed:
            self.chainer().poke()
        return True

    def _write_reads_now(self, rows: list[Mapping[str, Any]]) -> bool:
        """``_write_reads`` if SQLite's write lock is free this instant, else False."""
        with writer_lock_if_free(self.engine) as free:
            if not free:
                return False
            # on the connection of this thread's kept lookups: its own commits leave
            # what they keep valid (``KeptReads``), another connection's would not
            written, placed = self._insert_for(rows).many_if_free(
                self._kept_reads().connection(), rows, place_batch)
        if written and not placed:
            self.chainer().poke()
        return written

    def _insert_for(self, rows: list[Mapping[str, Any]]) -> LeanInsert:
        keys = tuple(rows[0])
        insert = self._inserts.get(keys)
        if insert is None:
            insert = self._inserts.setdefault(
                keys, LeanInsert(table_of(AuditEvent), keys, self.engine))
        return insert

    def _write_reads(self, rows: list[Mapping[str, Any]]) -> None:
        """A batch of the audit writer, in one transaction of its own straight through the
        driver (``store.lean``: a batch through the ORM cost as much CPU as the requests
        it served, issue 16). On SQLite the batch is chained as it is inserted, whenever no
        earlier event waits (``audit_chain.place_batch``: the writer holds the one write
        lock anyway); otherwise the chainer is poked, as after any commit of events."""
        insert = self._insert_for(rows)
        with writer_lock(self.engine):
            placed = insert.many(rows, place_batch if self.dialect == "sqlite" else None)
        if not placed:
            self.chainer().poke()

    def chain_audit(self, wait: bool = False) -> int:
        """One chaining pass in its own short write transaction (``audit_chain``)."""
        with self.unit_of_work() as uow:
            done = chain_pending(uow.session.connection(), wait=wait)
            uow.commit()
        return done

    @classmethod
    def at(cls, url: str, **kw: Any) -> Database:
        """Open the database at ``url`` (SQLite file or server URL)."""
        return cls(make_engine(url, **kw))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._writers, writer_lock(self.engine))

    def snapshot(self, wait: bool = True) -> UnitOfWork:
        """A unit of work for a request that reads (every GET): a snapshot of the primary
        that takes no writer lock (a deferred BEGIN on SQLite, ``store.db.reader_engine``);
        its read events go through the audit writer. It always reads the primary, so a
        request sees every write committed before it (the job table, its own writes).
        ``wait=False``: the caller awaits ``audited()`` before it answers (an async
        route)."""
        if self._snapshots is None:
            self._snapshots = self._reading_sessions(reader_engine(self.engine))
        return UnitOfWork(self._snapshots, database=self, wait=wait)

    def lean(self, stmt: Select[Any]) -> LeanSelect:
        """``stmt`` prepared to run straight on the driver (``store.lean``), for
        ``lookup``; prepared once."""
        prepared = self._lean.get(id(stmt))
        if prepared is None or prepared.stmt is not stmt:
            prepared = LeanSelect(stmt, self.engine)
            self._lean[id(stmt)] = prepared
        return prepared

    async def lookup(self, stmt: Select[Any], derive: Callable[[Any], T], **params: str | int
                     ) -> tuple[T, Vouch | None]:
        """``derive`` of the first row of ``stmt``, for a fast lane on the event loop,
        without a transaction or a thread; what ``derive`` makes of a row is kept, so
        ``derive`` must depend on the row alone. On SQLite it is kept while no other
        connection commits (``store.lean.KeptReads``), and the vouch is None. On a server
        database it is kept until a batch finds it changed (``store.kept_pg``): a kept
        answer comes with a vouch, which must go with the request's read events to
        ``record_reads`` (that checks it) before the request is answered."""
        connections = self.loop_connections()
        if connections is not None:
            return await self._kept_async().first(connections, stmt, derive, **params)
        return self._kept_reads().first(self.lean(stmt), derive, **params), None

    def forget(self, stmt: Select[Any], derive: Callable[[Any], Any], **params: str | int
               ) -> None:
        """Drop what ``lookup`` kept for these arguments: the caller found it no longer
        answers (a token whose use must now be recorded, say), and the full path will
        write. On SQLite nothing needs dropping: that write changes ``data_version``."""
        if self.loop_connections() is not None:
            self._kept_async().forget(stmt, derive, **params)

    def _kept_reads(self) -> KeptReads:
        if self._kept is None:
            with self._chainer_lock:
                if self._kept is None:
                    self._kept = KeptReads(self.engine)
        return self._kept

    def _kept_async(self) -> KeptAsync:
        if self._kept_pg is None:
            with self._chainer_lock:
                if self._kept_pg is None:
                    self._kept_pg = KeptAsync(self.engine)
        return self._kept_pg

    def reading(self, wait: bool = True) -> UnitOfWork:
        """A unit of work for long reads (Bulk Data exports, reports): like ``snapshot``,
        but on the read replica when one is set (``use_replica``), else on the primary."""
        if self._readers is None:
            return self.snapshot(wait)
        return UnitOfWork(self._readers, database=self, wait=wait)

    def use_replica(self, engine: Engine) -> None:
        """Send the long reads (``reading``) to ``engine``, a replica that follows the
        primary (``store.replica``). It refuses every write (``NeedsWriter``): a use case
        that writes after all runs again as a writer of the primary."""
        self._readers = self._reading_sessions(refuse_writes(reader_engine(engine)))

    def _reading_sessions(self, engine: Engine) -> sessionmaker[Session]:
        readers = session_factory(engine, writer=False)
        event.listen(readers, "after_commit", self._after_commit)
        return readers

    def dispose(self) -> None:
        if self._loop_pg is not None:
            self._loop_pg.close()
            self._loop_pg = None
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
        if self._chainer is not None:  # this process wrote events: chain them before leaving
            self._chainer.stop()
            self._chainer = None
            try:
                self.chain_audit(wait=True)
            except Exception:
                LOG.warning("audit events left unchained at exit; the next chainer places them")
        for readers in (self._snapshots, self._readers):
            if readers is not None and readers.kw["bind"] is not self.engine:
                readers.kw["bind"].dispose()
        self.engine.dispose()
