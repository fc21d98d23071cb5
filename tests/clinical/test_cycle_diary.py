"""The cycle diary's rules (issue 17 item 6) and how its answers feed the response
analysis: pure, with the injection day and "today" as values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bontrack.clinical.cycle_diary import CycleAnswers, check_answers
from bontrack.clinical.response import CycleFacts, Measurement, cycle_response, series_responses
from bontrack.reference import default_reference
from bontrack.reference.impression import default_impression

SCALES = default_reference().scales
INJECTED = date(2026, 3, 2)
TODAY = date(2026, 4, 1)


def day(n: int) -> date:
    return INJECTED + timedelta(days=n)


def fields(a: CycleAnswers, today: date = TODAY) -> list[str]:
    return [p.field for p in check_answers(a, INJECTED, today)]


def test_answers_on_or_after_the_injection_and_in_order_are_accepted():
    assert fields(CycleAnswers("date", day(0), "date", day(29))) == []
    assert fields(CycleAnswers("not_yet", None, "not_yet", None)) == []
    assert fields(CycleAnswers("no_effect", None, "not_yet", None)) == []
    assert fields(CycleAnswers("date", day(5), "date", TODAY)) == []


def test_an_onset_before_the_injection_day_is_refused_naming_onset_date():
    problems = check_answers(CycleAnswers("date", day(-1), "not_yet", None), INJECTED, TODAY)
    assert [p.field for p in problems] == ["onset_date"]
    assert "before the injection on 2026-03-02" in problems[0].message


def test_a_day_after_today_is_in_the_future_whatever_the_clock_says():
    assert fields(CycleAnswers("date", day(5), "date", TODAY + timedelta(days=1))) == [
        "wore_off_date"]
    # the same answer is fine once that day has come
    assert fields(CycleAnswers("date", day(5), "date", TODAY + timedelta(days=1)),
                  today=TODAY + timedelta(days=1)) == []


def test_wear_off_must_follow_onset_and_needs_an_onset():
    assert fields(CycleAnswers("date", day(10), "date", day(10))) == ["wore_off_date"]
    assert fields(CycleAnswers("not_yet", None, "date", day(10))) == ["wore_off"]
    assert fields(CycleAnswers("no_effect", None, "date", day(10))) == ["wore_off"]


def test_a_date_must_come_with_the_answer_date_and_only_with_it():
    assert fields(CycleAnswers("date", None, "not_yet", None)) == ["onset_date"]
    assert fields(CycleAnswers("not_yet", day(3), "not_yet", None)) == ["onset_date"]
    assert fields(CycleAnswers("date", day(3), "date", None)) == ["wore_off_date"]
    assert fields(CycleAnswers("date", day(3), "not_yet", day(9))) == ["wore_off_date"]


def mas(*points: tuple[int, str]) -> list[Measurement]:
    return [Measurement(day(d), Decimal(v)) for d, v in points]


def test_a_reported_onset_is_used_only_where_no_measurement_shows_an_improvement():
    improved = mas((-1, "3"), (14, "2"), (90, "3"))
    r = cycle_response(SCALES, "modified_ashworth", INJECTED, improved, onsets=[day(6)])
    assert (r.onset_days, r.onset_source) == (14, "measured")
    nothing_after = mas((-1, "3"))
    r = cycle_response(SCALES, "modified_ashworth", INJECTED, nothing_after,
                       onsets=[day(6)])
    assert (r.onset_days, r.onset_source, r.duration_kind) == (6, "diary", "unknown")
    no_benefit = mas((-1, "3"), (30, "3"))
    r = cycle_response(SCALES, "modified_ashworth", INJECTED, no_benefit, onsets=[day(6)])
    assert (r.onset_days, r.onset_source) == (6, "diary")
    r = cycle_response(SCALES, "modified_ashworth", INJECTED, no_benefit)
    assert (r.onset_days, r.onset_source) == (None, "")


def test_a_reported_wear_off_before_the_measured_return_ends_the_benefit():
    improved = mas((-1, "3"), (14, "2"), (90, "3"))
    assert cycle_response(SCALES, "modified_ashworth", INJECTED, improved
                          ).duration_days == 90
    r = cycle_response(SCALES, "modified_ashworth", INJECTED, improved, wore_off=[day(70)])
    assert (r.duration_days, r.duration_kind) == (70, "diary")


def test_each_cycle_takes_only_the_answers_between_it_and_the_next():
    cycles = [CycleFacts(INJECTED, "onabotulinumtoxinA", Decimal(100)),
              CycleFacts(day(100), "onabotulinumtoxinA", Decimal(100))]
    ms = mas((-1, "3"), (14, "2"), (99, "2"), (114, "2"), (180, "2"))
    out = series_responses(SCALES, "modified_ashworth", cycles, ms,
                           wore_off=[day(80), day(150)], onsets=[day(5), day(103)])
    assert [(r.duration_days, r.duration_kind) for r in out] == [(80, "diary"),
                                                                 (50, "diary")]


def test_the_global_impression_answers_cover_the_pgic_scale_each_with_quoted_words():
    imp = default_impression()
    assert imp.fits(SCALES["pgic"])
    for a in imp.answers:
        assert a.label.lower() in a.source.quote.lower()
