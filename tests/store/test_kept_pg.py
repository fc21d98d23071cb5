"""PostgreSQL's kept lookups (``store.kept_pg``, issue 16): a lookup is read once and kept;
each later use is vouched for by the statement that commits the request's read events,
which writes nothing of a request whose kept row changed (``StaleRead``) and drops what
was kept, while the other requests of the same batch are committed as usual."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bontrack.errors import StaleRead
from bontrack.services import audit
from bontrack.store.migrate import upgrade
from bontrack.store.models import Clinic
from bontrack.store.uow import Database
from tests.conftest import fresh_database

_CLINICS = Clinic.__table__
#: A lookup of one clinic's name, as the lane looks a token up.
NOW = datetime(2026, 12, 7, tzinfo=UTC)
NAME = sa.select(_CLINICS.c.id, _CLINICS.c.name).where(_CLINICS.c.id == sa.bindparam("cid"))


def _name(row: Any) -> str | None:
    return None if row is None else str(row.name)


@pytest.fixture()
def pg(tmp_path) -> Iterator[tuple[Database, int]]:
    url, drop = fresh_database("postgresql", tmp_path)
    db = Database.at(url)
    upgrade(db.engine)
    yield db, _add(db, "North")
    db.dispose()
    drop()


def _add(db: Database, name: str) -> int:
    with db.engine.begin() as c:
        return int(c.execute(sa.insert(_CLINICS).values(name=name, created_at=NOW)
                             .returning(_CLINICS.c.id)).scalar_one())


def _rename(db: Database, cid: int, name: str) -> None:
    with db.engine.begin() as c:
        c.execute(sa.update(_CLINICS).where(_CLINICS.c.id == cid).values(name=name))


def _stored(db: Database, tag: str) -> int:
    with db.engine.connect() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM audit_events WHERE detail = :t"),
                             {"t": tag}).scalar_one())


def _event(tag: str) -> list[dict[str, Any]]:
    return [audit.event_row(None, "read", "timeline", detail=tag)]


def test_a_kept_lookup_is_vouched_for_and_written_while_its_row_is_unchanged(pg) -> None:
    db, cid = pg

    async def scenario() -> None:
        first, vouch = await db.lookup(NAME, _name, cid=cid)
        assert (first, vouch) == ("North", None)  # read now: nothing to vouch for
        again, vouch = await db.lookup(NAME, _name, cid=cid)
        assert again == "North" and vouch is not None  # kept
        await db.record_reads(_event("unchanged"), [vouch])

    asyncio.run(scenario())
    assert _stored(db, "unchanged") == 1


def test_a_changed_row_writes_nothing_of_the_request_and_is_read_anew(pg) -> None:
    db, cid = pg

    async def scenario() -> tuple[str | None, object]:
        await db.lookup(NAME, _name, cid=cid)
        _rename(db, cid, "South")  # committed by another connection
        kept, vouch = await db.lookup(NAME, _name, cid=cid)
        assert kept == "North" and vouch is not None  # memory does not know yet
        with pytest.raises(StaleRead):
            await db.record_reads(_event("stale"), [vouch])
        return await db.lookup(NAME, _name, cid=cid)

    fresh, vouch = asyncio.run(scenario())
    assert _stored(db, "stale") == 0
    assert fresh == "South" and vouch is None  # everything kept was dropped


def test_a_row_gone_is_a_change_too(pg) -> None:
    db, _ = pg
    c2 = _add(db, "East")

    async def scenario() -> None:
        await db.lookup(NAME, _name, cid=c2)
        _, vouch = await db.lookup(NAME, _name, cid=c2)
        assert vouch is not None
        with db.engine.begin() as c:
            c.execute(sa.delete(_CLINICS).where(_CLINICS.c.id == c2))
        with pytest.raises(StaleRead):
            await db.record_reads(_event("gone"), [vouch])

    asyncio.run(scenario())
    assert _stored(db, "gone") == 0


def test_the_rest_of_a_batch_is_committed_when_one_kept_row_changed(pg) -> None:
    """Requests gathered in one batch: the one whose kept row changed is refused the
    shortcut, the one read afresh and the one whose kept row holds are committed."""
    db, cid = pg
    west = _add(db, "West")

    async def scenario() -> list[BaseException | None]:
        await db.lookup(NAME, _name, cid=cid)
        await db.lookup(NAME, _name, cid=west)
        _, stale = await db.lookup(NAME, _name, cid=cid)
        _, holds = await db.lookup(NAME, _name, cid=west)
        assert stale is not None and holds is not None
        _rename(db, cid, "Changed")
        got = await asyncio.gather(db.record_reads(_event("b-stale"), [stale]),
                                   db.record_reads(_event("b-fresh")),
                                   db.record_reads(_event("b-holds"), [holds]),
                                   return_exceptions=True)
        return [g if isinstance(g, BaseException) else None for g in got]

    stale_error, fresh_error, holds_error = asyncio.run(scenario())
    assert isinstance(stale_error, StaleRead)
    assert _stored(db, "b-stale") == 0
    assert _stored(db, "b-fresh") == 1
    # the row that held was dropped from memory with the rest, but its use was vouched
    # for on a batch that wrote nothing: it is refused too, or committed on a batch of
    # its own; never answered without its event
    assert (holds_error is None) == (_stored(db, "b-holds") == 1)
    assert fresh_error is None


def test_sqlite_needs_no_vouch(tmp_path) -> None:
    db = Database.at(f"sqlite:///{tmp_path / 'k.db'}")
    upgrade(db.engine)
    try:
        cid = _add(db, "Solo")

        async def scenario() -> None:
            for _ in range(2):
                assert await db.lookup(NAME, _name, cid=cid) == ("Solo", None)

        asyncio.run(scenario())
    finally:
        db.dispose()


def test_forget_drops_one_kept_row(pg) -> None:
    db, cid = pg

    async def scenario() -> list[object]:
        await db.lookup(NAME, _name, cid=cid)
        kept = (await db.lookup(NAME, _name, cid=cid))[1]
        db.forget(NAME, _name, cid=cid)
        return [kept, (await db.lookup(NAME, _name, cid=cid))[1]]

    kept, after = asyncio.run(scenario())
    assert kept is not None and after is None  # read anew


def test_a_lookup_that_cannot_be_kept_exactly_is_refused(pg) -> None:
    """A bool would find the row kept for 1; a LIMIT or a bound literal cannot be sent by
    the check: each refused outright rather than kept wrongly."""
    db, cid = pg
    with pytest.raises(TypeError):
        asyncio.run(db.lookup(NAME, _name, cid=True))
    for stmt in (NAME.limit(1),
                 NAME.where(_CLINICS.c.name != sa.bindparam("not_given", "x"))):
        with pytest.raises(ValueError):
            asyncio.run(db.lookup(stmt, _name, cid=cid))


def test_the_loop_s_connections_write_times_alike_whatever_the_role_s_defaults(pg) -> None:
    """A row's text (what is kept and checked) depends on DateStyle and TimeZone: the
    loop's connections set both, whatever the database's defaults say."""
    db, _ = pg
    with db.engine.connect() as c:
        name = c.execute(sa.text("SELECT current_database()")).scalar_one()
        c.execute(sa.text(f"ALTER DATABASE \"{name}\" SET DateStyle = 'SQL, DMY'"))
        c.execute(sa.text(f"ALTER DATABASE \"{name}\" SET TimeZone = 'Pacific/Chatham'"))
        c.commit()
    pool = db.loop_connections()
    assert pool is not None

    async def settings() -> tuple[str, str]:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT current_setting('DateStyle'), "
                                     "current_setting('TimeZone')")
            row = await cur.fetchone()
            assert row is not None
            return str(row[0]), str(row[1])

    assert asyncio.run(settings()) == ("ISO, MDY", "UTC")


def test_the_loop_s_connections_take_the_url_s_options_as_written(tmp_path) -> None:
    """A URL's query options reach the loop's connections decoded (a space stays a
    space), beside the pinned settings."""
    url, drop = fresh_database("postgresql", tmp_path)
    db = Database.at(url + "?options=-c%20application_name%3Dbt_loop%20-c%20work_mem%3D8MB")
    try:
        pool = db.loop_connections()
        assert pool is not None

        async def settings() -> tuple[str, ...]:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT current_setting('application_name'), "
                    "current_setting('work_mem'), current_setting('TimeZone')")
                row = await cur.fetchone()
                assert row is not None
                return tuple(str(v) for v in row)

        assert asyncio.run(settings()) == ("bt_loop", "8MB", "UTC")
    finally:
        db.dispose()
        drop()
