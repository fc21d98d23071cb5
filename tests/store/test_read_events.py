"""Read events committed without a unit of work (``Database.record_reads``, issue 16): on
SQLite by a group commit on the event loop, chained as inserted; handed to the audit writer
thread when the write lock is busy, and on PostgreSQL. Every event is committed before
``record_reads`` returns, and the chain stays intact."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time

import psycopg
import sqlalchemy as sa

from bontrack.services import audit
from bontrack.store.audit_chain import Verdict
from bontrack.store.db import writer_lock
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database


def _open(url: str) -> Database:
    db = Database.at(url)
    upgrade(db.engine)
    return db


def _events(n: int, tag: str) -> list[dict[str, object]]:
    return [audit.event_row(None, "read", "timeline", entity_id=k, detail=tag)
            for k in range(n)]


def _stored(db: Database, tag: str) -> list[tuple[int, int | None]]:
    with db.engine.connect() as c:
        rows = c.execute(sa.text("SELECT entity_id, chain_seq FROM audit_events "
                                 "WHERE detail = :t ORDER BY id"), {"t": tag}).all()
    return [(int(r[0]), r[1]) for r in rows]


def _verdict(db: Database) -> Verdict:
    db.chain_audit(wait=True)
    with db.snapshot() as uow:
        return audit.verify_trail(uow.session)


def test_concurrent_reads_are_committed_and_chained_before_they_return(db_url):
    db = _open(db_url)
    try:
        async def reads() -> None:
            await asyncio.gather(*(db.record_reads(_events(2, f"r{k}")) for k in range(50)))

        asyncio.run(reads())
        for k in range(50):  # each call returned only once its events were committed
            assert [e for e, _ in _stored(db, f"r{k}")] == [0, 1]
        if db.dialect == "sqlite":  # chained as they were inserted: nothing left for later
            assert all(seq is not None for k in range(50) for _, seq in _stored(db, f"r{k}"))
        verdict = _verdict(db)
        assert verdict.intact and verdict.events == 100, verdict.reason
    finally:
        db.dispose()


def test_a_busy_writer_lock_hands_the_batch_to_the_writer_thread(tmp_path):
    """While another thread of the process writes, the loop does not wait on the lock: the
    batch goes to the audit writer, and the read returns once that has committed it."""
    db = _open(f"sqlite:///{tmp_path / 'busy.db'}")
    lock = writer_lock(db.engine)
    released = threading.Event()

    def hold() -> None:
        with lock:
            time.sleep(0.4)
            released.set()

    try:
        async def run() -> tuple[bool, int]:
            holder = threading.Thread(target=hold)
            holder.start()
            await asyncio.sleep(0.05)
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while not released.is_set():
                    ticks += 1
                    await asyncio.sleep(0.01)

            tick = asyncio.create_task(ticker())
            await db.record_reads(_events(1, "busy"))
            done_after_release = released.is_set()
            await tick
            holder.join()
            return done_after_release, ticks

        after, ticks = asyncio.run(run())
        assert after  # it waited for the commit, which waited for the lock
        assert ticks >= 10  # and the loop went on meanwhile
        assert len(_stored(db, "busy")) == 1
        assert _verdict(db).intact
    finally:
        db.dispose()


def test_a_database_written_by_another_process_does_not_stop_the_loop(tmp_path):
    """Another connection (another process, say) holds SQLite's write lock: the loop's own
    connection does not wait on the busy timeout; the batch waits in the writer thread."""
    path = tmp_path / "other.db"
    db = _open(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")

        async def run() -> float:
            task = asyncio.create_task(db.record_reads(_events(1, "other")))
            started = time.perf_counter()
            await asyncio.sleep(0.3)  # the loop runs while the lock is held
            slept = time.perf_counter() - started
            assert not task.done()
            other.execute("COMMIT")
            await task
            return slept

        assert asyncio.run(run()) < 0.5
        assert len(_stored(db, "other")) == 1
        assert _verdict(db).intact
    finally:
        other.close()
        db.dispose()


def test_events_after_unchained_ones_are_chained_in_order(db_url):
    """An event a write transaction inserted is still unchained: the batch is not chained
    ahead of it. SQLite leaves the batch to the chainer; PostgreSQL's batch, holding the
    chain's lock, chains the waiting event first. Either way both follow in id order."""
    db = _open(db_url)
    try:
        # committed as a write leaves it, but not through a unit of work: its commit would
        # poke the chainer, whose pass could hold the chain's lock as the batch tries it
        with db.engine.begin() as c:
            c.execute(sa.insert(audit.EVENTS).values(
                **audit.event_row(None, "update", "patient", 1, detail="write")))
        asyncio.run(db.record_reads(_events(3, "after")))
        chained_by_the_batch = [seq for _, seq in _stored(db, "after")]
        verdict = _verdict(db)
        assert verdict.intact and verdict.events == 4, verdict.reason
        with db.engine.connect() as c:
            order = [r[0] for r in c.execute(sa.text(
                "SELECT detail FROM audit_events ORDER BY chain_seq"))]
        assert order == ["write", "after", "after", "after"]
        if db.dialect != "sqlite":  # chained in the batch's own transaction, not later
            assert None not in chained_by_the_batch
    finally:
        db.dispose()


def test_the_loop_s_own_connections_survive_a_lost_one_and_close(tmp_path):
    """PostgreSQL: a connection that breaks is dropped and the next use opens another; at
    most ``PER_LOOP`` are open; ``dispose`` ends them all."""
    from tests.conftest import fresh_database

    url, drop = fresh_database("postgresql", tmp_path)
    db = _open(url)
    try:
        pool = db.loop_connections()
        assert pool is not None

        async def use() -> int:
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT pg_backend_pid()")
                row = await cur.fetchone()
                assert row is not None
                return int(row[0])

        async def scenario() -> tuple[int, int, list[int]]:
            first = await use()
            async with pool.connection() as conn:  # the server ends this connection
                with contextlib.suppress(psycopg.OperationalError):
                    await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            again = await use()
            many = await asyncio.gather(*(use() for _ in range(20)))
            return first, again, many

        first, again, many = asyncio.run(scenario())
        assert again != first and first not in many  # the lost one was not used again
        assert len(set(many)) <= 4
        with db.engine.connect() as c:
            open_before = c.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )).scalar()
        db.dispose()
        engine = sa.create_engine(url)
        with engine.connect() as c:
            open_after = c.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )).scalar()
        engine.dispose()
        assert open_after < open_before
        assert open_after == 1  # this check's own connection
    finally:
        db.dispose()
        drop()


def test_a_closed_loop_s_connections_are_ended_when_another_loop_starts(tmp_path):
    """A test client (or any caller) runs its own loop and ends it: the next loop's first
    use ends the connections the closed one left, so they never pile up."""
    from tests.conftest import fresh_database

    url, drop = fresh_database("postgresql", tmp_path)
    db = _open(url)
    engine = sa.create_engine(url)

    def backends() -> int:
        with engine.connect() as c:
            return int(c.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")).scalar())

    try:
        pool = db.loop_connections()
        assert pool is not None

        async def busy() -> None:
            async def one() -> None:
                async with pool.connection() as conn:
                    await conn.execute("SELECT pg_sleep(0.05)")
            await asyncio.gather(*(one() for _ in range(8)))

        db.engine.dispose()  # only the loop's own connections are counted below
        asyncio.run(busy())
        first = backends()
        assert first == 4
        for _ in range(5):
            asyncio.run(busy())
        assert backends() == 4  # not 24
    finally:
        engine.dispose()
        db.dispose()
        drop()


def test_a_batch_that_fails_is_rolled_back_whole_and_the_next_one_commits(db_url):
    """A batch is one transaction: when its INSERT fails, none of its events is kept, the
    caller gets the error, and the connection is left usable (PostgreSQL: the batch opens
    one statement, ``audit_chain.append_reads``)."""
    db = _open(db_url)
    try:
        bad = _events(3, "bad")
        bad[1]["action"] = None  # NOT NULL: the INSERT fails

        async def scenario() -> BaseException | None:
            try:
                await db.record_reads(bad)
            except Exception as exc:  # the driver's IntegrityError
                failed: BaseException | None = exc
            else:
                failed = None
            await asyncio.gather(*(db.record_reads(_events(2, f"ok{k}")) for k in range(8)))
            return failed

        failed = asyncio.run(scenario())
        assert failed is not None
        assert _stored(db, "bad") == []
        for k in range(8):
            assert [e for e, _ in _stored(db, f"ok{k}")] == [0, 1]
        verdict = _verdict(db)
        assert verdict.intact and verdict.events == 16, verdict.reason
    finally:
        db.dispose()
