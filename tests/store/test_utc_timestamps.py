"""Issue 15, item 6: every timestamp is stored in UTC on SQLite and PostgreSQL and returned
with its offset, the same on both (SQLite used to keep 10:00+02:00 as 10:00)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.lean import sqlite_utc_text
from bontrack.store.migrate import upgrade
from bontrack.store.models import AuditEvent
from bontrack.store.types import UtcDateTime, to_utc
from tests.api.conftest import api  # noqa: F401  (the API over SQLite and PostgreSQL)

SQLITE = sa.create_engine("sqlite://").dialect  # as an engine's: with its type mapping


def test_an_outcome_time_with_an_offset_is_stored_and_returned_in_utc(api):  # noqa: F811
    p = api.ids["p1"]
    r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                 {"scale": "pain_nrs", "value": "3", "measured_at": "2026-11-30T10:00:00+02:00"})
    assert r.status_code == 201, r.text
    assert r.json()["measured_at"] == "2026-11-30T08:00:00+00:00"
    listed = api.get("nurse", f"/api/v1/patients/{p}/outcomes").json()["items"]
    assert [o["measured_at"] for o in listed if o["id"] == r.json()["id"]] == [
        "2026-11-30T08:00:00+00:00"]
    engine = make_engine(api.url)
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            stored = c.exec_driver_sql("SELECT measured_at FROM outcomes WHERE id = ?",
                                       (r.json()["id"],)).scalar_one()
            assert stored.startswith("2026-11-30 08:00:00")
        else:
            stored = c.exec_driver_sql(
                "SELECT to_char(measured_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                "FROM outcomes WHERE id = %s", (r.json()["id"],)).scalar_one()
            assert stored == "2026-11-30 08:00"
    engine.dispose()


def test_the_same_instant_sorts_and_reads_back_identically_on_both_databases(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    plus2 = timezone(timedelta(hours=2))
    minus5 = timezone(timedelta(hours=-5))
    written = [datetime(2026, 11, 30, 10, 0, tzinfo=plus2),    # 08:00Z
               datetime(2026, 11, 30, 4, 0, tzinfo=minus5),    # 09:00Z
               datetime(2026, 11, 30, 7, 30, tzinfo=UTC),      # 07:30Z
               datetime(2026, 11, 30, 8, 15)]                  # no offset: taken as UTC
    with transaction(session_factory(engine)) as s:
        for at in written:
            s.add(AuditEvent(at=at, action="read", entity="x", outcome="ok", detail=""))
    with transaction(session_factory(engine)) as s:
        back = list(s.scalars(sa.select(AuditEvent.at).order_by(AuditEvent.at)))
    engine.dispose()
    assert [b.isoformat() for b in back] == [
        "2026-11-30T07:30:00+00:00", "2026-11-30T08:00:00+00:00",
        "2026-11-30T08:15:00+00:00", "2026-11-30T09:00:00+00:00"]
    assert all(b.tzinfo is UTC for b in back)


def test_rows_written_without_an_offset_before_the_change_read_as_utc(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine)
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO audit_events (at, action, entity, outcome, detail) "
                          "VALUES ('2026-01-02 03:04:05.000000', 'read', 'x', 'ok', '')")
    with transaction(session_factory(engine)) as s:
        at = s.scalar(sa.select(AuditEvent.at))
    engine.dispose()
    assert at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) and at.tzinfo is UTC


def test_every_timestamp_column_of_the_models_is_utc():
    from bontrack.store.models import Base

    for table in Base.metadata.tables.values():
        for column in table.columns:
            if column.type.python_type is datetime:
                assert isinstance(column.type, UtcDateTime), f"{table.name}.{column.name}"


def test_a_time_past_year_9999_in_utc_is_refused_not_overflowed():
    with pytest.raises(ValueError, match="outside the years"):
        to_utc(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))))


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5)), None]))
       | st.dates())
def test_the_lean_inserts_shortcut_writes_the_text_sqlalchemy_writes(value):
    """``store.lean.sqlite_utc_text``: the read events' time as SQLite stores it, the same
    text as the column's own processors for any time (issue 16)."""
    processors = UtcDateTime()._cached_bind_processor(SQLITE)
    assert processors is not None
    fast = sqlite_utc_text(processors)
    assert fast is not processors  # the probes agreed: the shortcut is in use
    try:
        expected = processors(value)
    except (TypeError, ValueError) as e:
        with pytest.raises(type(e)):
            fast(value)
    else:
        assert fast(value) == expected
