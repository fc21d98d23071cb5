"""A small iCalendar writer (RFC 5545) for the booked next visit: one VCALENDAR holding
VEVENTs, written by hand so that nothing new is locked in the requirements.

What RFC 5545 asks of it, section by section:

- 3.1: content lines end in CRLF; a line longer than 75 octets is folded (CRLF followed by
  one space) and a fold never splits a UTF-8 character.
- 3.3.11: in TEXT values a backslash, semicolon and comma are escaped with a backslash and
  a line break is written ``\\n``.
- 3.3.4 / 3.3.5: a DATE is ``YYYYMMDD``; DTSTAMP is a UTC DATE-TIME ``YYYYMMDDThhmmssZ``.
- 3.6.1: a VEVENT has UID and DTSTAMP; DTSTART is required as the calendar has no METHOD.
  A whole-day event is ``DTSTART;VALUE=DATE`` with DTEND the next day (exclusive end).
- 3.7.3 / 3.7.4: the calendar carries PRODID and VERSION:2.0.
- 3.8.7.4: SEQUENCE counts the revisions of an event (a rescheduled visit keeps its UID).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PRODID = "-//bontrack//next visit//EN"
CRLF = "\r\n"
LIMIT = 75  # octets per line, the CRLF not counted (RFC 5545 3.1)


@dataclass(frozen=True, slots=True)
class Event:
    uid: str
    day: date
    summary: str
    description: str = ""
    location: str = ""
    sequence: int = 0
    status: str = "CONFIRMED"  # or CANCELLED (RFC 5545 3.8.1.11)


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash first, then ; and , and line breaks."""
    out = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return out.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """One content line folded at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence.
    Continuation lines start with one space, which counts towards their 75 octets."""
    parts: list[str] = []
    current, size, room = "", 0, LIMIT
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > room:
            parts.append(current)
            current, size, room = "", 0, LIMIT - 1
        current += ch
        size += n
    parts.append(current)
    return (CRLF + " ").join(parts)


def _date(day: date) -> str:
    return day.strftime("%Y%m%d")


def _utc(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(e: Event, stamp: datetime) -> list[str]:
    lines = ["BEGIN:VEVENT", f"UID:{escape_text(e.uid)}", f"DTSTAMP:{_utc(stamp)}",
             f"DTSTART;VALUE=DATE:{_date(e.day)}",
             f"DTEND;VALUE=DATE:{_date(e.day + timedelta(days=1))}",
             f"SEQUENCE:{int(e.sequence)}", f"STATUS:{e.status}",
             f"SUMMARY:{escape_text(e.summary)}"]
    if e.description:
        lines.append(f"DESCRIPTION:{escape_text(e.description)}")
    if e.location:
        lines.append(f"LOCATION:{escape_text(e.location)}")
    lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
    return lines


def calendar(events: Sequence[Event], stamp: datetime) -> str:
    """The iCalendar text of ``events``, stamped ``stamp`` (DTSTAMP: when it was made)."""
    lines: list[str] = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}",
                        "CALSCALE:GREGORIAN"]
    for e in events:
        lines += _event_lines(e, stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def unfold(text: str) -> list[str]:
    """The logical lines of iCalendar text (the reverse of ``fold``): for tests and readers."""
    return text.replace(CRLF + " ", "").replace(CRLF + "\t", "").split(CRLF)[:-1]


def properties(text: str) -> Iterable[tuple[str, str]]:
    """(name with parameters, value) of each logical line."""
    for line in unfold(text):
        name, _, value = line.partition(":")
        yield name, value
