"""Label intervals on the calendar: days, weeks or calendar months, as the label words them."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from bontrack.reference.schema import Interval


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def after(day: date, interval: Interval) -> date:
    """The day ``interval`` after ``day``."""
    if interval.days is not None:
        return day + timedelta(days=interval.days)
    if interval.weeks is not None:
        return day + timedelta(weeks=interval.weeks)
    assert interval.months is not None
    return add_months(day, interval.months)


def before(day: date, interval: Interval) -> date:
    """The day ``interval`` before ``day``."""
    if interval.days is not None:
        return day - timedelta(days=interval.days)
    if interval.weeks is not None:
        return day - timedelta(weeks=interval.weeks)
    assert interval.months is not None
    return add_months(day, -interval.months)


def in_days(interval: Interval, start: date) -> int:
    """Length of ``interval`` in days when counted from ``start``."""
    return (after(start, interval) - start).days
