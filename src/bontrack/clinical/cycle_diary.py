"""The cycle diary (issue 17 item 6): after a signed cycle the patient says when the
injection started working and when it wore off. Pure: the injection day and "today" are
values; nothing here reads a clock.

The rules, each naming the field it is about:

- ``onset`` is ``date`` (then ``onset_date`` is given), ``not_yet`` or ``no_effect`` ("it
  didn't work"); ``wore_off`` is ``date`` (then ``wore_off_date``) or ``not_yet``;
- a date is on or after the injection day and not after today;
- the wear-off is after the onset (a wear-off while the effect has "not yet" started, or
  after "it didn't work", is refused: there was nothing to wear off).

How the answers feed the response (``clinical.response``): a reported wear-off ends the
duration of benefit like a diary note saying the effect wore off (the earlier of it and a
measured return to baseline wins); a reported onset is the cycle's onset only where no
measurement shows an improvement (a measured onset wins).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Onset = Literal["date", "not_yet", "no_effect"]
WoreOff = Literal["date", "not_yet"]


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class CycleAnswers:
    onset: Onset
    onset_date: date | None
    wore_off: WoreOff
    wore_off_date: date | None


def _day(field: str, value: date, injected: date, today: date) -> Problem | None:
    if value < injected:
        return Problem(field, f"{field}: {value.isoformat()} is before the injection on "
                       f"{injected.isoformat()}; give a day on or after it")
    if value > today:
        return Problem(field, f"{field}: {value.isoformat()} is in the future (today is "
                       f"{today.isoformat()}); give a day that has passed, or answer "
                       "'not yet'")
    return None


def check_answers(a: CycleAnswers, injected: date, today: date) -> list[Problem]:
    """Every problem of the answers for a cycle given on ``injected``, as of ``today``;
    empty when they can be recorded."""
    out: list[Problem] = []
    if a.onset == "date":
        if a.onset_date is None:
            out.append(Problem("onset_date", "onset_date: give the day it started working "
                               "(or answer 'not yet' or 'it didn't work')"))
        elif (p := _day("onset_date", a.onset_date, injected, today)) is not None:
            out.append(p)
    elif a.onset_date is not None:
        out.append(Problem("onset_date", f"onset_date: give no day when the answer is "
                           f"{a.onset!r}"))
    if a.wore_off == "date":
        if a.wore_off_date is None:
            out.append(Problem("wore_off_date", "wore_off_date: give the day it wore off "
                               "(or answer 'not yet')"))
        elif (p := _day("wore_off_date", a.wore_off_date, injected, today)) is not None:
            out.append(p)
        elif a.onset != "date":
            what = "it has not started working yet" if a.onset == "not_yet" else \
                "it did not work"
            out.append(Problem("wore_off", f"wore_off: the answer says {what}, so it "
                               "cannot have worn off; give when it started working"))
        elif a.onset_date is not None and a.wore_off_date <= a.onset_date:
            out.append(Problem("wore_off_date", f"wore_off_date: "
                               f"{a.wore_off_date.isoformat()} is not after the day it "
                               f"started working ({a.onset_date.isoformat()})"))
    elif a.wore_off_date is not None:
        out.append(Problem("wore_off_date", "wore_off_date: give no day when the answer is "
                           "'not_yet'"))
    return out


def reported_onset(a: CycleAnswers) -> date | None:
    return a.onset_date if a.onset == "date" else None


def reported_wore_off(a: CycleAnswers) -> date | None:
    return a.wore_off_date if a.wore_off == "date" else None
