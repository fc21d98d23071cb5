"""Effect course and the earliest next cycle date."""

from __future__ import annotations

from datetime import date

from bontrack.clinical.calendar import add_months
from tests.conftest import adult_plan


def test_next_earliest_date_is_the_labelled_interval_after_the_plan_day(check):
    result = check(adult_plan())
    assert result.effect.next_earliest_date == date(2027, 2, 16)  # + 12 weeks


def test_expected_onset_peak_and_wear_off_windows(check):
    e = check(adult_plan()).effect
    assert e.onset and e.onset.latest == date(2026, 12, 8)
    assert e.peak and (e.peak.earliest, e.peak.latest) == (date(2026, 12, 22), date(2027, 1, 5))
    assert e.wear_off and e.wear_off.earliest == date(2027, 2, 16)


def test_no_interval_gives_no_date(check):
    plan = adult_plan(
        indication="sialorrhea",
        injections=[{"muscle": "parotid_gland", "side": "left", "units": 30}],
    )
    assert check(plan).effect.next_earliest_date is None


def test_calendar_months_clamp_to_the_end_of_the_month():
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 5, 31), -3) == date(2026, 2, 28)
    assert add_months(date(2024, 5, 31), -3) == date(2024, 2, 29)
