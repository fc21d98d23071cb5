"""Recall: when a patient's next cycle is expected, from their earliest safe date and their
own typical duration of benefit (issue 17 item 4). Pure: values in, values out.

The expected date comes from the patient's own record, never from a default:

1. their measured durations of benefit (an outcome series returning to baseline, or a
   diary entry saying the effect wore off; ``clinical.response``), at least
   ``MIN_DURATIONS`` of them: expected at the last given cycle plus the median (lower
   middle), the recall window running to the last cycle plus the longest;
2. otherwise the intervals between their own given cycles, at least ``MIN_DURATIONS``:
   expected at the last cycle plus the median interval, the window to the longest;
3. otherwise no expected date: the list says so, and shows only the earliest safe date.

An expected date before the earliest safe date (the label's minimum retreatment interval)
is moved to it, and the list says so. The status is ``booked`` (a visit is booked ahead),
``not_yet`` (before the expected date, or before the earliest safe date when none is
known), ``due`` (from the expected date to the end of the window; or, without an own
figure, from the earliest safe date, which alone says when it may be given, not when it is
late) and ``overdue`` (after the window); ``not_checked`` when there is neither an own
figure nor an earliest safe date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median_low

from bontrack.clinical.response import MIN_DURATIONS

STATUSES = ("overdue", "due", "booked", "not_yet", "not_checked")


@dataclass(frozen=True, slots=True)
class Recall:
    status: str
    expected: date | None
    window_end: date | None
    basis: str
    days_overdue: int | None = None
    missed_booking: date | None = None


def _own(durations: Sequence[int], intervals: Sequence[int], series: str
         ) -> tuple[list[int], str] | None:
    days = sorted(d for d in durations if d is not None and d >= 0)
    if len(days) >= MIN_DURATIONS:
        return days, (f"the patient's own typical duration of benefit: median {median_low(days)}"
                      f" days of {len(days)} measured cycles{f' ({series})' if series else ''},"
                      f" longest {days[-1]} days")
    gaps = sorted(d for d in intervals if d is not None and d > 0)
    if len(gaps) >= MIN_DURATIONS:
        return gaps, (f"no measured duration of benefit; the patient's own interval between "
                      f"given cycles: median {median_low(gaps)} days of {len(gaps)} intervals, "
                      f"longest {gaps[-1]} days")
    return None


def recall(last_given: date, earliest: date | None, durations: Sequence[int],
           intervals: Sequence[int], booked: date | None, as_of: date,
           series: str = "") -> Recall:
    """The recall status of a patient whose last given cycle was ``last_given``.

    ``durations``: their measured durations of benefit (days) in one outcome series
    (``series`` names it); ``intervals``: days between their consecutive given cycles;
    ``booked``: the day of their booked next visit (None when none)."""
    own = _own(durations, intervals, series)
    missed = booked if booked is not None and last_given < booked < as_of else None
    if own is None:
        expected = window_end = None
        basis = ("not known: the patient has fewer than "
                 f"{MIN_DURATIONS} measured durations of benefit and fewer than "
                 f"{MIN_DURATIONS} intervals between given cycles")
    else:
        days, basis = own
        expected = last_given + timedelta(days=median_low(days))
        window_end = last_given + timedelta(days=days[-1])
        if earliest is not None and expected < earliest:
            expected = earliest
            basis += f"; moved to the earliest safe date {earliest.isoformat()}"
        window_end = max(window_end, expected)
    if booked is not None and booked >= as_of and booked > last_given:
        return Recall("booked", expected, window_end, basis)
    if expected is not None and window_end is not None:
        if as_of < expected:
            return Recall("not_yet", expected, window_end, basis, missed_booking=missed)
        if as_of <= window_end:
            return Recall("due", expected, window_end, basis, missed_booking=missed)
        return Recall("overdue", expected, window_end, basis, (as_of - window_end).days,
                      missed)
    if earliest is None:
        return Recall("not_checked", None, None,
                      basis + "; no earliest safe date is known", missed_booking=missed)
    return Recall("not_yet" if as_of < earliest else "due", None, None, basis,
                  missed_booking=missed)
