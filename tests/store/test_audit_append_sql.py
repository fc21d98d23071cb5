"""PostgreSQL's one-statement batch of read events (migration 0024, issue 16): its SQL hash
is ``event_hash`` to the digit, it chains only with the chain's lock and after what waits,
and whatever it leaves unchained the chainer places, so ``verify`` (in Python) holds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bontrack.services import audit
from bontrack.store.audit_chain import BATCH, PG_CHAIN_LOCK, event_hash
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database
from tests.conftest import fresh_database


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url, drop = fresh_database("postgresql", tmp_path_factory.mktemp("append"))
    db = Database.at(url)
    upgrade(db.engine)
    yield db
    db.dispose()
    drop()


@pytest.fixture()
def fresh(tmp_path) -> Iterator[Database]:
    """A database of its own, whose chainer thread never starts unless a test pokes it:
    what the function leaves unchained stays so until the test chains it."""
    url, drop = fresh_database("postgresql", tmp_path)
    db = Database.at(url)
    upgrade(db.engine)
    yield db
    db.dispose()
    drop()


def _append(db: Database, details: list[str], most: int = BATCH) -> bool:
    """``audit_append_reads`` called as the batch calls it, on a connection of its own."""
    rows = [audit.event_row(None, "read", "timeline", detail=d) for d in details]
    with db.engine.connect() as c:
        placed = c.execute(sa.text("SELECT audit_append_reads(CAST(:e AS json), :lock, :most)"),
                           {"e": db._insert_for(rows).json_array(rows), "lock": PG_CHAIN_LOCK,
                            "most": most}).scalar()
        c.commit()
    return bool(placed)


def _waiting(db: Database, details: list[str], at: str = "now()") -> None:
    """Events committed unchained, as a write's transaction leaves them (not through a unit
    of work, whose commit would poke the chainer)."""
    with db.engine.begin() as c:
        for d in details:
            c.execute(sa.text("INSERT INTO audit_events (at, action, entity, outcome, detail) "
                              f"VALUES ({at}, 'update', 'patient', 'ok', :d)"), {"d": d})


#: Text PostgreSQL can hold (no NUL), with the characters most likely to part the two
#: hashes: the separator, line ends, "None" itself, accents, combining marks, emoji.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=60) | st.sampled_from(["", "None", "a|b", "|", "é", "e\u0301",
                                                "日本", "🙂", "line\nbreak", "tab\t"])
#: The columns that cannot be NULL are given None too: both write it "None".
_MAYBE = st.none() | _TEXT
_ID = st.none() | st.integers(-(2**31), 2**31 - 1)
_ZONE = st.sampled_from([UTC, timezone(timedelta(hours=2)),
                         timezone(timedelta(hours=-9, minutes=-30))])
_AT = st.builds(lambda d, z: d.replace(tzinfo=UTC).astimezone(z),
                st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
                _ZONE)
_HASH_SQL = sa.text("SELECT audit_event_hash(:prev, :at, :user_id, :clinic_id, :action, "
                    ":entity, :entity_id, :patient_id, :outcome, :detail)")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prev=st.sampled_from(["0" * 64, "ab" * 32]) | _TEXT, at=_AT, user_id=_ID,
       clinic_id=_ID, action=_MAYBE, entity=_MAYBE, entity_id=_ID, patient_id=_ID,
       outcome=_MAYBE, detail=_MAYBE)
def test_the_sql_hash_is_event_hash(pg: Database, prev: str, at: datetime, user_id: int | None,
                                    clinic_id: int | None, action: str | None,
                                    entity: str | None, entity_id: int | None,
                                    patient_id: int | None, outcome: str | None,
                                    detail: str | None) -> None:
    fields = {"prev": prev, "at": at, "user_id": user_id, "clinic_id": clinic_id,
              "action": action, "entity": entity, "entity_id": entity_id,
              "patient_id": patient_id, "outcome": outcome, "detail": detail}
    with pg.engine.connect() as c:
        got = c.execute(_HASH_SQL, fields).scalar()
    assert got == event_hash(**fields)


def test_the_sql_hash_leaves_years_before_1000_to_python(pg: Database) -> None:
    """Python 3.11 wrote such a year unpadded; the SQL hash does not guess: NULL."""
    with pg.engine.connect() as c:
        got = c.execute(_HASH_SQL, {"prev": "0" * 64, "at": datetime(999, 12, 31, tzinfo=UTC),
                                    "user_id": None, "clinic_id": None, "action": "read",
                                    "entity": "timeline", "entity_id": None,
                                    "patient_id": None, "outcome": "ok", "detail": ""}
                        ).scalar()
    assert got is None


def _details(db: Database, prefix: str) -> list[tuple[str, int | None]]:
    with db.engine.connect() as c:
        return [(r[0], r[1]) for r in c.execute(sa.text(
            "SELECT detail, chain_seq FROM audit_events WHERE detail LIKE :p ORDER BY id"),
            {"p": prefix + "%"})]


def _intact(db: Database) -> None:
    db.chain_audit(wait=True)
    with db.snapshot() as uow:
        verdict = audit.verify_trail(uow.session)
    assert verdict.intact, verdict.reason


def test_a_batch_is_chained_in_its_order_in_one_statement(fresh: Database) -> None:
    rows = [audit.event_row(None, "read", "timeline", entity_id=k, detail=f"order{k}")
            for k in range(5)]
    asyncio.run(fresh.record_reads(rows))
    stored = _details(fresh, "order")
    assert [d for d, _ in stored] == [f"order{k}" for k in range(5)]
    seqs = [s for _, s in stored]
    assert seqs == [1, 2, 3, 4, 5]  # chained as inserted: nothing was left for later
    _intact(fresh)


def test_waiting_events_are_chained_first_then_the_batch(fresh: Database) -> None:
    _waiting(fresh, ["first0", "first1"])
    assert _append(fresh, ["then0", "then1"]) is True
    assert [s for _, s in _details(fresh, "first")] == [1, 2]
    assert [s for _, s in _details(fresh, "then")] == [3, 4]
    _intact(fresh)


def test_with_the_chain_s_lock_held_elsewhere_the_batch_waits_for_nobody(pg: Database
                                                                         ) -> None:
    """Another chainer holds the lock: the batch is committed at once, unchained, and
    placed later by the chainer, in order."""
    holder = pg.engine.connect()
    try:
        holder.execute(sa.text("BEGIN"))
        holder.execute(sa.text(f"SELECT pg_advisory_xact_lock({PG_CHAIN_LOCK})"))
        rows = [audit.event_row(None, "read", "timeline", detail=f"held{k}") for k in range(3)]
        asyncio.run(asyncio.wait_for(pg.record_reads(rows), 10))
        assert [s for _, s in _details(pg, "held")] == [None, None, None]
    finally:
        holder.rollback()
        holder.close()
    _intact(pg)
    seqs = [s for _, s in _details(pg, "held")]
    assert None not in seqs and seqs == sorted(seqs)


def test_an_event_the_sql_hash_declines_and_those_after_it_go_to_the_chainer(
        fresh: Database) -> None:
    """A waiting event dated before the year 1000 stops the function's chaining there: it
    and the batch after it are left unchained, and Python's chainer places them all."""
    _waiting(fresh, ["ok0"])
    _waiting(fresh, ["old0"], at="'0999-06-01T00:00:00Z'")
    assert _append(fresh, ["old1", "old2"]) is False
    assert [s for _, s in _details(fresh, "ok")] == [1]  # placed before the one declined
    assert [s for _, s in _details(fresh, "old")] == [None, None, None]
    _intact(fresh)
    assert [s for _, s in _details(fresh, "old")] == [2, 3, 4]
    # and once that one is chained, batches are chained by the function again
    assert _append(fresh, ["new0"]) is True
    assert [s for _, s in _details(fresh, "new")] == [5]
    _intact(fresh)


def test_with_more_waiting_than_one_call_places_the_batch_goes_after_them(fresh: Database
                                                                         ) -> None:
    """``most`` bounds the work of one call: it places that many waiting events and leaves
    the rest, and its batch, to the chainer, which places them all in id order."""
    _waiting(fresh, ["many0", "many1", "many2"])
    assert _append(fresh, ["many3"], most=2) is False
    assert [s for _, s in _details(fresh, "many")] == [1, 2, None, None]
    _intact(fresh)
    assert [s for _, s in _details(fresh, "many")] == [1, 2, 3, 4]
