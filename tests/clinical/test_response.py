"""Per-cycle response and the course across cycles: hand-computed cases and properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bontrack.clinical.response import (
    CycleFacts,
    Measurement,
    cycle_response,
    dose_by_muscle,
    improvement,
    next_window,
    responder_rules,
    series_responses,
    typical_duration,
    waning,
)
from bontrack.reference import default_reference

SCALES = default_reference().scales
RULES = responder_rules(SCALES)

D0 = date(2026, 1, 10)


def series(*points: tuple[int, str]) -> list[Measurement]:
    return [Measurement(D0 + timedelta(days=d), Decimal(v)) for d, v in points]


# (scale, points as (day after injection, value), responder, best change, onset, peak,
#  duration days, duration kind) -- each computed by hand
CASES = [
    # MAS 3 -> 2 at day 14, 1+ at day 42 (2 steps), back to 3 at day 105
    ("modified_ashworth", [(-1, "3"), (14, "2"), (42, "1.5"), (84, "2"), (105, "3")],
     True, Decimal("-1.5"), 14, 42, 105, "measured"),
    # MAS 2 -> 1+ is one step: a responder although only half a point
    ("modified_ashworth", [(0, "2"), (30, "1.5"), (90, "2")],
     True, Decimal("-0.5"), 30, 30, 90, "measured"),
    # MAS unchanged: not a responder, no benefit
    ("modified_ashworth", [(-3, "3"), (30, "3"), (90, "3")],
     False, Decimal(0), None, 30, None, "no_benefit"),
    # headache days 20 -> 12 (40 %): improved but not a 50 % responder; still better at 84
    ("headache_days", [(-1, "20"), (28, "16"), (56, "12"), (84, "15")],
     False, Decimal(-8), 28, 56, 84, "at_least"),
    # headache days 20 -> 10 (50 %): responder; back to 20 at day 84
    ("headache_days", [(-1, "20"), (28, "10"), (84, "20")],
     True, Decimal(-10), 28, 28, 84, "measured"),
    # HDSS 4 -> 2 (2 grades) responder; 4 -> 3 would not be
    ("hdss", [(-1, "4"), (14, "2"), (150, "4")], True, Decimal(-2), 14, 14, 150, "measured"),
    ("hdss", [(-1, "4"), (14, "3"), (150, "4")], False, Decimal(-1), 14, 14, 150,
     "measured"),
    # range of motion: higher is better and there is no responder rule -> unknown responder
    ("rom_degrees", [(-1, "40"), (21, "70"), (100, "40")], None, Decimal(30), 21, 21, 100,
     "measured"),
]


@pytest.mark.parametrize(
    "scale,points,responder,change,onset,peak,duration,kind", CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_cycle_response_matches_the_hand_computed_figures(scale, points, responder, change,
                                                          onset, peak, duration, kind):
    r = cycle_response(SCALES, scale, D0, series(*points))
    assert r.responder is responder
    assert r.change == change
    assert r.onset_days == onset
    assert r.peak_days == peak
    assert r.duration_days == duration
    assert r.duration_kind == kind


def test_no_baseline_gives_unknown_never_a_guess():
    r = cycle_response(SCALES, "modified_ashworth", D0, series((14, "2"), (42, "1")))
    assert r.responder is None and r.duration_days is None and r.duration_kind == "unknown"
    assert "baseline" in r.unknown_reason


def test_nothing_measured_after_the_injection_gives_unknown():
    r = cycle_response(SCALES, "modified_ashworth", D0, series((-1, "3")))
    assert r.responder is None and r.baseline == Decimal(3) and r.duration_kind == "unknown"


def test_a_value_from_before_the_previous_cycle_is_not_a_baseline():
    r = cycle_response(SCALES, "modified_ashworth", D0, series((-120, "3"), (14, "2")),
                       previous_day=D0 - timedelta(days=100))
    assert r.responder is None and "baseline" in r.unknown_reason


def test_measurements_after_the_next_cycle_belong_to_the_next_cycle():
    r = cycle_response(SCALES, "modified_ashworth", D0, series((-1, "3"), (30, "3"), (95, "1")),
                       next_day=D0 + timedelta(days=90))
    assert r.responder is False


def test_diary_wear_off_ends_the_benefit_when_earlier_than_the_measurement():
    r = cycle_response(SCALES, "modified_ashworth", D0, series((-1, "3"), (30, "2"), (120, "3")),
                       wore_off=[D0 + timedelta(days=75)])
    assert (r.duration_days, r.duration_kind) == (75, "diary")


def test_percent_of_a_zero_baseline_is_unknown():
    r = cycle_response(SCALES, "headache_days", D0, series((-1, "0"), (30, "0")))
    assert r.responder is None and "baseline is 0" in r.unknown_reason


def test_every_responder_rule_states_its_source():
    for rule in RULES.values():
        assert rule.scale in SCALES
        assert len(rule.source) > 30
        assert rule.convention == rule.source.startswith("Clinic convention")


def cycles_every(days: int, n: int, units: str = "100", product: str = "onabotulinumtoxinA"
                 ) -> list[CycleFacts]:
    return [CycleFacts(D0 + timedelta(days=days * i), product, Decimal(units))
            for i in range(n)]


def test_typical_duration_is_the_median_of_measured_durations():
    cyc = cycles_every(120, 3)
    pts = []
    for i, dur in enumerate((80, 100, 90)):
        start = D0 + timedelta(days=120 * i)
        pts += [Measurement(start, Decimal(3)), Measurement(start + timedelta(days=30),
                                                            Decimal(2)),
                Measurement(start + timedelta(days=dur), Decimal(3))]
    rs = series_responses(SCALES, "modified_ashworth", cyc, pts)
    assert [r.duration_days for r in rs] == [80, 100, 90]
    assert typical_duration(rs) == 90
    w = next_window(cyc[-1].day, rs, next_earliest=cyc[-1].day + timedelta(weeks=12))
    assert w is not None
    assert w.start == cyc[-1].day + timedelta(days=84)  # 80 days is before the safe date
    assert w.clamped_to_safe_interval
    assert w.end == cyc[-1].day + timedelta(days=100)


def test_too_few_durations_gives_no_typical_duration_or_window():
    rs = series_responses(SCALES, "modified_ashworth", cycles_every(120, 1),
                          series((-1, "3"), (30, "2"), (90, "3")))
    assert typical_duration(rs) is None
    assert next_window(D0, rs, None) is None


def _course(cycles: list[CycleFacts], bests: list[str]) -> list[Measurement]:
    pts = []
    for c, best in zip(cycles, bests, strict=True):
        pts += [Measurement(c.day, Decimal(3)), Measurement(c.day + timedelta(days=40),
                                                            Decimal(best))]
    return pts


def test_warns_of_waning_when_the_last_two_cycles_responded_less_at_the_same_dose():
    cyc = cycles_every(100, 4)
    rs = series_responses(SCALES, "modified_ashworth", cyc, _course(cyc, ["1", "1", "2", "3"]))
    assert waning(cyc, rs).warn


def test_no_waning_warning_when_the_dose_was_lowered():
    cyc = cycles_every(100, 2) + [CycleFacts(D0 + timedelta(days=200 + 100 * i),
                                             "onabotulinumtoxinA", Decimal(50))
                                  for i in range(2)]
    rs = series_responses(SCALES, "modified_ashworth", cyc, _course(cyc, ["1", "1", "2", "3"]))
    w = waning(cyc, rs)
    assert not w.warn and "lower dose" in w.detail


def test_no_waning_warning_with_too_few_cycles():
    cyc = cycles_every(100, 2)
    rs = series_responses(SCALES, "modified_ashworth", cyc, _course(cyc, ["1", "3"]))
    assert not waning(cyc, rs).warn


def test_dose_by_muscle_keeps_products_apart():
    rows = [(D0, "onabotulinumtoxinA", "biceps_brachii", "left", Decimal(50)),
            (D0, "onabotulinumtoxinA", "biceps_brachii", "left", Decimal(25)),
            (D0, "abobotulinumtoxinA", "biceps_brachii", "left", Decimal(200))]
    out = dose_by_muscle(rows)
    assert out[("onabotulinumtoxinA", "biceps_brachii", "left")] == [(D0, Decimal(75))]
    assert out[("abobotulinumtoxinA", "biceps_brachii", "left")] == [(D0, Decimal(200))]


# -- properties -----------------------------------------------------------------------------

mas_values = st.sampled_from([Decimal(v) for v in ("0", "1", "1.5", "2", "3", "4")])
days = st.integers(min_value=1, max_value=150)


@given(st.lists(st.tuples(days, mas_values), min_size=1, max_size=8), mas_values)
def test_reordering_measurements_changes_nothing(points, base):
    ms = [Measurement(D0, base)] + [Measurement(D0 + timedelta(days=d), v) for d, v in points]
    assert cycle_response(SCALES, "modified_ashworth", D0, ms) == \
        cycle_response(SCALES, "modified_ashworth", D0, list(reversed(ms)))


@given(st.lists(st.tuples(days, mas_values), min_size=1, max_size=8), mas_values)
def test_responder_iff_best_improvement_reaches_one_step(points, base):
    ms = [Measurement(D0, base)] + [Measurement(D0 + timedelta(days=d), v) for d, v in points]
    r = cycle_response(SCALES, "modified_ashworth", D0, ms)
    best = max(improvement(SCALES, "modified_ashworth", base, v, "steps") or 0 for _, v in points)
    assert r.responder is (best >= 1)
    assert r.peak_day is not None
    assert r.onset_day is None or r.onset_day <= r.peak_day


@given(st.lists(st.tuples(days, mas_values), min_size=1, max_size=8), mas_values,
       st.integers(min_value=1, max_value=150))
def test_duration_never_exceeds_the_follow_up(points, base, gap):
    ms = [Measurement(D0, base)] + [Measurement(D0 + timedelta(days=d), v) for d, v in points]
    nxt = D0 + timedelta(days=gap)
    r = cycle_response(SCALES, "modified_ashworth", D0, ms, next_day=nxt)
    if r.duration_days is not None:
        assert 0 < r.duration_days < gap


@given(st.lists(st.tuples(days, mas_values), min_size=1, max_size=8), mas_values,
       st.lists(days, max_size=3))
def test_a_diary_wear_off_only_ever_shortens_the_duration(points, base, worn):
    ms = [Measurement(D0, base)] + [Measurement(D0 + timedelta(days=d), v) for d, v in points]
    plain = cycle_response(SCALES, "modified_ashworth", D0, ms)
    diary = cycle_response(SCALES, "modified_ashworth", D0, ms,
                           wore_off=[D0 + timedelta(days=d) for d in worn])
    assert diary.responder == plain.responder
    if plain.duration_kind == "measured" and diary.duration_days is not None:
        assert diary.duration_days <= plain.duration_days  # type: ignore[operator]
