"""SQLite's kept lookups (``store.lean.KeptReads``, issue 16): a row the fast lane looked up
is kept only while no other connection, in this process or another, has committed; the
lane's own read-event batches, written on the same connection, keep it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bontrack.services import audit
from bontrack.store.audit_chain import place_batch
from bontrack.store.bulk import table_of
from bontrack.store.lean import KeptReads, LeanInsert, LeanSelect
from bontrack.store.migrate import upgrade
from bontrack.store.models import AuditEvent, Clinic
from bontrack.store.uow import Database

CLINICS = table_of(Clinic)
NOW = datetime.now(UTC)
BY_ID = sa.select(CLINICS.c.id, CLINICS.c.name).where(CLINICS.c.id == sa.bindparam("i"))


class Counting:
    """A ``derive`` that counts the rows it was given: each is a statement that ran."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def __call__(self, row: Any) -> str | None:
        self.rows.append(row)
        return None if row is None else str(row.name)


@pytest.fixture
def db(tmp_path):
    database = Database.at(f"sqlite:///{tmp_path / 'kept.db'}")
    upgrade(database.engine)
    with database.engine.begin() as c:
        c.execute(CLINICS.insert().values(id=1, name="North", created_at=NOW))
    yield database
    database.dispose()


def _rename(url: str, name: str) -> None:
    """Commit a change through a connection of its own (another engine)."""
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(CLINICS.update().where(CLINICS.c.id == 1).values(name=name))
    engine.dispose()


def test_a_row_is_kept_until_another_connection_commits(db):
    kept, select, derive = KeptReads(db.engine), LeanSelect(BY_ID, db.engine), Counting()
    assert [kept.first(select, derive, i=1) for _ in range(5)] == ["North"] * 5
    assert len(derive.rows) == 1  # one statement, four answers kept
    _rename(str(db.engine.url), "South")
    assert kept.first(select, derive, i=1) == "South"  # seen at the very next lookup
    assert len(derive.rows) == 2


def test_a_commit_by_another_process_is_seen_at_the_next_lookup(db):
    kept, select, derive = KeptReads(db.engine), LeanSelect(BY_ID, db.engine), Counting()
    assert kept.first(select, derive, i=1) == "North"
    path = db.engine.url.database
    subprocess.run([sys.executable, "-c",
                    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                    "c.execute(\"UPDATE clinics SET name = 'East' WHERE id = 1\"); c.commit()",
                    path], check=True)
    assert kept.first(select, derive, i=1) == "East"


def test_the_lanes_own_read_events_keep_what_is_kept(db):
    """The batches of read events go through the same connection: its own commits do not
    make it read again (else every batch would cost every lookup its statement)."""
    kept, select, derive = KeptReads(db.engine), LeanSelect(BY_ID, db.engine), Counting()
    insert = LeanInsert(table_of(AuditEvent), tuple(audit.event_row(None, "read", "t")),
                        db.engine)
    assert kept.first(select, derive, i=1) == "North"
    for k in range(3):
        written, placed = insert.many_if_free(
            kept.connection(), [audit.event_row(None, "read", "timeline", entity_id=k)],
            place_batch)
        assert written and placed
        assert kept.first(select, derive, i=1) == "North"
    assert len(derive.rows) == 1
    with db.engine.connect() as c:  # and the events are committed, for everyone
        assert c.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 3


def test_what_is_not_found_is_looked_up_again(db):
    kept, select, derive = KeptReads(db.engine), LeanSelect(BY_ID, db.engine), Counting()
    assert kept.first(select, derive, i=2) is None
    with db.engine.begin() as c:
        c.execute(CLINICS.insert().values(id=2, name="West", created_at=NOW))
    assert kept.first(select, derive, i=2) == "West"
    assert kept.first(select, derive, i=2) == "West"
    assert derive.rows[0] is None and len(derive.rows) == 2


def test_each_lookup_is_kept_apart_and_the_store_is_bounded(db):
    kept, select, derive = KeptReads(db.engine, limit=2), LeanSelect(BY_ID, db.engine), Counting()
    with db.engine.begin() as c:
        c.execute(CLINICS.insert(), [{"id": k, "name": f"C{k}", "created_at": NOW} for k in (2, 3)])
    assert [kept.first(select, derive, i=k) for k in (1, 2, 1, 2)] == ["North", "C2"] * 2
    assert len(derive.rows) == 2
    assert kept.first(select, derive, i=3) == "C3"  # a third: the kept ones are dropped
    assert kept.first(select, derive, i=1) == "North"
    assert len(derive.rows) == 4


def test_only_sqlite_keeps_rows():
    engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never opened
    with pytest.raises(RuntimeError, match="SQLite"):
        KeptReads(engine)


def test_lookups_with_the_same_values_under_other_names_are_kept_apart(db):
    both = sa.select(CLINICS.c.id, CLINICS.c.name).where(
        CLINICS.c.id == sa.bindparam("a"), CLINICS.c.id != sa.bindparam("b"))
    kept, select, derive = KeptReads(db.engine), LeanSelect(both, db.engine), Counting()
    with db.engine.begin() as c:
        c.execute(CLINICS.insert().values(id=2, name="South", created_at=NOW))
    assert kept.first(select, derive, a=1, b=2) == "North"
    assert kept.first(select, derive, b=1, a=2) == "South"


def test_a_connection_left_in_a_transaction_is_rolled_back_before_the_batch(db):
    kept = KeptReads(db.engine)
    insert = LeanInsert(table_of(AuditEvent), tuple(audit.event_row(None, "read", "t")),
                        db.engine)
    connection = kept.connection()
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("UPDATE clinics SET name = 'Half' WHERE id = 1")  # never committed
    written, placed = insert.many_if_free(
        connection, [audit.event_row(None, "read", "timeline")], place_batch)
    assert written and placed and not connection.in_transaction
    with db.engine.connect() as c:
        assert c.execute(sa.text("SELECT name FROM clinics WHERE id = 1")).scalar() == "North"
        assert c.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 1
