"""The recall rule (clinical.recall): the expected date from the patient's own record,
never a default, never before the earliest safe date."""

from __future__ import annotations

from datetime import date, timedelta

from bontrack.clinical.recall import recall

LAST = date(2026, 1, 5)
EARLIEST = LAST + timedelta(weeks=12)


def on(days: int) -> date:
    return LAST + timedelta(days=days)


def test_expected_at_the_median_of_own_durations_and_overdue_after_the_longest():
    r = recall(LAST, EARLIEST, [100, 120, 140], [], None, on(130), "tardieu biceps")
    assert r.expected == on(120) and r.window_end == on(140) and r.status == "due"
    assert "median 120 days of 3 measured cycles (tardieu biceps)" in r.basis
    assert recall(LAST, EARLIEST, [100, 120, 140], [], None, on(119)).status == "not_yet"
    late = recall(LAST, EARLIEST, [100, 120, 140], [], None, on(150))
    assert late.status == "overdue" and late.days_overdue == 10


def test_an_expected_date_before_the_earliest_safe_date_is_moved_to_it():
    r = recall(LAST, EARLIEST, [50, 60], [], None, on(70))
    assert r.expected == EARLIEST and r.window_end == EARLIEST
    assert "moved to the earliest safe date" in r.basis and r.status == "not_yet"


def test_intervals_between_own_cycles_serve_when_no_duration_was_measured():
    r = recall(LAST, EARLIEST, [90], [120, 100, 130], None, on(101))
    assert r.expected == on(120) and "interval between given cycles" in r.basis
    assert r.status == "not_yet"


def test_without_own_figures_no_date_is_invented():
    r = recall(LAST, EARLIEST, [90], [100], None, on(200))
    assert r.expected is None and r.window_end is None
    assert r.basis.startswith("not known") and r.status == "due" and r.days_overdue is None
    assert recall(LAST, EARLIEST, [], [], None, on(10)).status == "not_yet"
    assert recall(LAST, None, [], [], None, on(10)).status == "not_checked"


def test_a_visit_booked_ahead_is_booked_and_a_passed_one_is_reported():
    assert recall(LAST, EARLIEST, [100, 120], [], on(150), on(149)).status == "booked"
    missed = recall(LAST, EARLIEST, [100, 120], [], on(125), on(140))
    assert missed.status == "overdue" and missed.missed_booking == on(125)
    # a booking on or before the last cycle was that cycle's: not a next visit
    assert recall(LAST, EARLIEST, [100, 120], [], LAST, on(10)).missed_booking is None
