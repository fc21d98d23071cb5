"""The iCalendar writer (RFC 5545): structure, CRLF, folding at 75 octets without splitting
a UTF-8 character, TEXT escaping, whole-day DTSTART/DTEND, UTC DTSTAMP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from bontrack.icalendar import Event, calendar, escape_text, fold, properties, unfold

STAMP = datetime(2026, 12, 6, 9, 30, 5, tzinfo=UTC)


def test_a_calendar_has_the_required_properties_and_crlf_lines():
    text = calendar([Event(uid="abc@bontrack", day=date(2027, 3, 1), summary="Visit")], STAMP)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert text.endswith("END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    props = dict(properties(text))
    assert props["UID"] == "abc@bontrack" and props["DTSTAMP"] == "20261206T093005Z"
    assert props["DTSTART;VALUE=DATE"] == "20270301" and props["DTEND;VALUE=DATE"] == "20270302"
    assert props["SEQUENCE"] == "0" and props["STATUS"] == "CONFIRMED"


def test_dtstamp_is_written_in_utc():
    local = STAMP.astimezone(timezone(timedelta(hours=-5)))
    text = calendar([Event(uid="u", day=date(2027, 1, 1), summary="s")], local)
    assert dict(properties(text))["DTSTAMP"] == "20261206T093005Z"


def test_text_escapes_backslash_semicolon_comma_and_line_breaks():
    assert escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_long_lines_fold_at_75_octets_without_splitting_a_character():
    line = "DESCRIPTION:" + "Zoë Ångström 😀 " * 20
    folded = fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 3
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    for p in parts:
        p.encode("utf-8").decode("utf-8")  # every piece is whole characters
    assert unfold(folded + "\r\n") == [line]


def test_a_line_of_exactly_75_octets_is_not_folded():
    line = "X" * 75
    assert fold(line) == line and fold(line + "Y") == line + "\r\n Y"
