"""Column types that behave the same on SQLite and PostgreSQL.

``UtcDateTime``: every timestamp is stored as UTC and read back as an aware datetime in UTC.
SQLite has no time-zone type: SQLAlchemy's ``DateTime`` writes the wall-clock digits and
drops the offset, so ``10:00+02:00`` was stored as 10:00 (two hours wrong) while PostgreSQL's
``timestamptz`` stored 08:00Z. Converting to UTC before the value reaches either driver makes
both store the same instant, and both return ``08:00+00:00``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def to_utc(value: datetime) -> datetime:
    """``value`` as an aware datetime in UTC; a value without an offset is taken as UTC
    (what every part of bontrack writes, and what SQLite returns)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        raise ValueError(f"{value.isoformat()} is outside the years 1-9999 in UTC") from exc


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC on both databases and returned with its offset (UTC).

    On PostgreSQL the column is ``timestamptz``; on SQLite it is text in UTC without an
    offset (SQLAlchemy's format, so text order is time order). Rows written before this type
    existed carry no offset on SQLite and are read as UTC (docs/store.md, "Time zones")."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a timestamp must be a datetime, not {type(value).__name__}")
        utc = to_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return to_utc(value)

    @property
    def python_type(self) -> type[datetime]:
        return datetime
