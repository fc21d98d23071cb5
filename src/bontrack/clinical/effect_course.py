"""Effect course: when the effect should start, peak and wear off, and the earliest day the
next cycle may be given.

The earliest next day is the labelled minimum retreatment interval counted from this cycle.
Learning a patient's own duration of benefit from their outcomes belongs to the response
analysis (a later module); this one only uses the label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bontrack.clinical.calendar import after
from bontrack.reference.schema import LabelEntry, Range, Source


@dataclass(frozen=True, slots=True)
class Window:
    """A span of expected days after the injection day (either end may be open)."""

    earliest: date | None
    latest: date | None
    source: Source


@dataclass(frozen=True, slots=True)
class EffectCourse:
    next_earliest_date: date | None
    next_source: Source | None
    onset: Window | None
    peak: Window | None
    wear_off: Window | None


def _window(day: date, r: Range | None) -> Window | None:
    if r is None:
        return None
    return Window(
        earliest=day + timedelta(days=int(r.min)) if r.min is not None else None,
        latest=day + timedelta(days=int(r.max)) if r.max is not None else None,
        source=r.source,
    )


def course(day: date, label: LabelEntry | None) -> EffectCourse:
    """The expected course after an injection on ``day`` under ``label``."""
    if label is None:
        return EffectCourse(None, None, None, None, None)
    interval = label.retreatment_min_interval
    ec = label.effect_course
    return EffectCourse(
        next_earliest_date=after(day, interval) if interval else None,
        next_source=interval.source if interval else None,
        onset=_window(day, ec.onset_days) if ec else None,
        peak=_window(day, ec.peak_days) if ec else None,
        wear_off=_window(day, ec.duration_days) if ec else None,
    )
