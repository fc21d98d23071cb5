"""Engines and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from bontrack.config import db_pool_size
from bontrack.errors import NeedsWriter

SQLITE_BUSY_MS = 30_000


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, foreign keys and a busy timeout so
    that "database is locked" waits instead of failing."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False}, **kw
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock at the start of every transaction: two writers then queue
            # on the busy timeout instead of failing mid-transaction with "locked".
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        engine._bontrack_writer = threading.Lock()  # type: ignore[attr-defined]
        return engine
    pool = db_pool_size()
    return create_engine(url, pool_pre_ping=True,
                         **{"pool_size": pool.size, "max_overflow": pool.overflow, **kw})


def writer_lock(engine: Engine) -> AbstractContextManager[Any]:
    """SQLite allows one writer at a time. Threads of one process queue on this lock rather
    than on SQLite's busy handler, which sleeps and retries (seconds of tail latency under
    load); other processes still wait on the busy timeout. PostgreSQL needs no lock."""
    lock = getattr(engine, "_bontrack_writer", None)
    return lock if lock is not None else nullcontext()


@contextmanager
def writer_lock_if_free(engine: Engine) -> Iterator[bool]:
    """``writer_lock`` taken only if it is free this instant: yields whether it was (and
    is then held until the block ends). For whoever must not wait, e.g. an event loop."""
    lock: threading.Lock | None = getattr(engine, "_bontrack_writer", None)
    if lock is None:
        yield True
        return
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def session_factory(engine: Engine, writer: bool = True) -> sessionmaker[Session]:
    """Sessions for ``engine``. No transaction takes an application-wide lock: on PostgreSQL
    a change to a record is guarded by its version (``version_id_col`` on the versioned
    models: a stale write is refused, never lost) and by the row locks its UPDATEs take;
    the audit chain is ordered by the chainer (``store.audit_chain``), not by the
    requests. ``writer`` is kept for callers that say what they do; it changes nothing."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error (nothing half-saved)."""
    bind = factory.kw.get("bind")
    with writer_lock(bind) if isinstance(bind, Engine) else nullcontext():
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def reader_engine(engine: Engine) -> Engine:
    """An engine for long reads. bontrack's SQLite engine takes the write lock at BEGIN
    (so writers queue instead of failing); an export holding it for minutes would stop every
    writer, so exports read through a deferred BEGIN: a consistent WAL snapshot, no lock."""
    if engine.dialect.name != "sqlite":
        return engine
    reader = create_engine(engine.url, connect_args={"timeout": 30,
                                                     "check_same_thread": False})

    @event.listens_for(reader, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(reader, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return refuse_writes(reader)


#: Statements a reading unit of work refuses.
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def refuse_writes(engine: Engine) -> Engine:
    """Make ``engine`` refuse every statement that writes with ``NeedsWriter`` (the use case
    runs again in a write transaction of the primary, ``UnitOfWork.promote``). On SQLite a
    deferred transaction that has read cannot safely start writing ("database is locked" at
    once if another writer committed since); a replica cannot be written at all."""
    if getattr(engine, "_bontrack_reads_only", False):
        return engine

    @event.listens_for(engine, "before_cursor_execute")
    def _reads_only(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:7].upper().startswith(WRITES):
            raise NeedsWriter(statement.split(None, 1)[0])

    engine._bontrack_reads_only = True  # type: ignore[attr-defined]
    return engine
