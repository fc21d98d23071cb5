"""Planned is not given: which cycles count as injections actually given.

A cycle is recorded as a draft (a plan: a nurse's preparation, a clinician's plan for a
later day) and becomes *given* only when a clinician signs it. Only given cycles count:

- in what a patient sees (portal pages, the API read as the patient, the visit report,
  the leaflet, chart downloads);
- in the response analytics (the patient's and the clinic's);
- in the next-date logic (earliest safe date, suggested window, overdue);
- in the history the plan check adds up as given (cumulative limits, retreatment interval).

Imported history keeps its status: another system's completed session is imported as
signed and so counts; a cycle marked entered in error never counts.

A cycle dated after today is a plan: it may be saved as a draft, never signed as given.
"Today" is the server's clock, read here at the edge of the use cases; the clinical core is
handed the day (``as_of``) and never reads a clock itself.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bontrack.errors import InvalidRecord

#: The one status that means "given": signed by a clinician (or imported as completed).
GIVEN = "signed"


def today() -> date:
    """The server's date: the one place the use cases read the clock for "today"."""
    return datetime.now().astimezone().date()


def is_given(cycle: Any) -> bool:
    """Whether a cycle (ORM object, row or view dictionary) counts as given."""
    status = cycle["status"] if isinstance(cycle, dict) else cycle.status
    return bool(status == GIVEN)


def was_given(cycle: Any) -> bool:
    """Given, or given and later marked entered in error (a patient is told about a
    withdrawn entry they once saw; a withdrawn draft was never theirs to see)."""
    def get(key: str) -> Any:
        return cycle.get(key) if isinstance(cycle, dict) else getattr(cycle, key, None)

    return bool(get("status") == GIVEN or (get("status") == "entered_in_error"
                                           and get("signed_at") is not None))


def refuse_future(day: date, as_of: date, what: str = "signed as given") -> None:
    """A cycle dated after ``as_of`` is a plan: refuse recording it as given (422, naming
    the date)."""
    if day > as_of:
        raise InvalidRecord(
            f"the cycle is dated {day.isoformat()}, after today ({as_of.isoformat()}): a "
            f"planned cycle cannot be {what}. Keep it as a draft (plan) and sign it on or "
            f"after {day.isoformat()}, once the injections are given", field="date")


def next_due(last_given: date | None, earliest: date | None,
             window: tuple[date, date] | None, as_of: date) -> dict[str, Any]:
    """When the next cycle is due, in words, as of ``as_of``.

    ``status`` is one of: ``none_given`` (no cycle given yet), ``not_yet`` (before the
    earliest safe date or the suggested window), ``due`` (within the suggested window, or on
    the earliest safe date where no window is known), ``overdue`` (the suggested window has
    ended, or, without a window, the earliest safe date has passed, with no cycle given
    since) and ``not_checked`` (a cycle was given but the reference data holds no minimum
    interval and no window could be suggested). A date in the past is never offered as
    "suggested": it is reported as overdue."""
    out: dict[str, Any] = {"as_of": as_of.isoformat(),
                           "last_given": last_given.isoformat() if last_given else None,
                           "earliest": earliest.isoformat() if earliest else None,
                           "window": ({"start": window[0].isoformat(),
                                       "end": window[1].isoformat()} if window else None),
                           "overdue": False, "days_overdue": None}
    if last_given is None:
        return {**out, "status": "none_given", "text": "No cycle given yet."}
    if window is not None:
        start, end = window
        if as_of < start:
            return {**out, "status": "not_yet",
                    "text": f"Suggested window for the next cycle: {start.isoformat()} to "
                            f"{end.isoformat()}."}
        if as_of <= end:
            return {**out, "status": "due",
                    "text": f"Due now: the suggested window runs from {start.isoformat()} to "
                            f"{end.isoformat()}."}
        days = (as_of - end).days
        return {**out, "status": "overdue", "overdue": True, "days_overdue": days,
                "text": f"Overdue: the suggested window ended on {end.isoformat()} "
                        f"({days} day{'s' if days != 1 else ''} ago) and no cycle has been "
                        f"given since {last_given.isoformat()}."}
    if earliest is not None:
        if as_of < earliest:
            return {**out, "status": "not_yet",
                    "text": f"Next cycle no earlier than {earliest.isoformat()}."}
        if as_of == earliest:
            return {**out, "status": "due",
                    "text": f"Due: the next cycle may be given from today "
                            f"({earliest.isoformat()})."}
        days = (as_of - earliest).days
        return {**out, "status": "overdue", "overdue": True, "days_overdue": days,
                "text": f"Overdue: the next cycle could be given from {earliest.isoformat()} "
                        f"({days} day{'s' if days != 1 else ''} ago); no cycle has been "
                        f"given since {last_given.isoformat()}."}
    return {**out, "status": "not_checked",
            "text": f"Last cycle given on {last_given.isoformat()}. bontrack's reference data "
                    "holds no minimum interval for this product and indication, and no window "
                    "could be suggested yet: the next date is not checked."}
