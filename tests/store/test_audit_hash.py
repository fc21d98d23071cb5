"""An event's hash must stay what it was when the event was written: trails written by
earlier releases are verified with today's code (issue 16 made the hash's text cheaper to
build; these pin it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from bontrack.store.audit_chain import _stamp, event_hash


def test_known_events_keep_their_hashes():
    """Digests computed with the code before issue 16's change (strftime, str-joined)."""
    at = datetime(2026, 12, 7, 14, 5, 6, 789, tzinfo=timezone(timedelta(hours=2)))
    assert event_hash("0" * 64, at, 3, 1, "read", "timeline", None, 42, "ok", "a|b") == (
        "3014db7c693cbeb34945fa4d63a16879834ca4bb5355c9ccadb130a555750ea7")
    assert event_hash("ab" * 32, datetime(999, 1, 2, 3, 4, 5), None, None, "sign_in", "user",
                      7, None, "denied", "") == (
        "73d9bc3ced854d2acf2694a45117cf990976653616bf8f1ac071257a89438104")


OFFSETS = st.one_of(st.none(), st.just(UTC), st.integers(-14 * 60, 14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))))


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), OFFSETS)
def test_the_stamp_is_the_utc_time_as_python_3_11_wrote_it(at, tz):
    if tz is not None:
        at = at.replace(tzinfo=tz)
        utc = at.astimezone(UTC).replace(tzinfo=None)
    else:
        utc = at
    if utc.year >= 1000:
        assert _stamp(at) == utc.strftime("%Y-%m-%dT%H:%M:%S.%f")
    else:  # 3.11's strftime wrote the year unpadded (later Pythons pad it): kept as was
        assert _stamp(at) == f"{utc.year}-" + utc.strftime("%m-%dT%H:%M:%S.%f")


def test_a_year_before_1000_is_written_unpadded():
    assert _stamp(datetime(999, 1, 2, 3, 4, 5)) == "999-01-02T03:04:05.000000"
    assert _stamp(datetime(7, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == (
        "7-12-31T23:59:59.999999")
