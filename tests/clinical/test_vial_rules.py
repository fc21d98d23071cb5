"""Vial rules: expiry, hours since reconstitution, capacity, sizes, dilution table."""

from __future__ import annotations

from tests.conftest import adult_plan, codes


def vial(**kw: object) -> dict[str, object]:
    v: dict[str, object] = {"size_units": 200, "diluent_ml": 4, "lot": "L1"}
    v.update(kw)
    return v


def test_stops_an_expired_vial(check):
    result = check(adult_plan(vials=[vial(expiry="2026-11-23")]))
    f = next(f for f in result.findings if f.code == "VIAL_EXPIRED")
    assert f.value == 1 and result.verdict == "stop"


def test_a_vial_expiring_on_the_day_is_still_usable(check):
    assert "VIAL_EXPIRED" not in codes(check(adult_plan(vials=[vial(expiry="2026-11-24")])))


def test_stops_a_vial_reconstituted_more_than_24_hours_before_the_day(check):
    result = check(adult_plan(vials=[vial(reconstituted_at="2026-11-22T23:00")]))
    assert "RECONSTITUTED_TOO_LONG" in codes(result)


def test_warns_a_vial_whose_24_hours_end_during_the_day_when_no_time_is_given(check):
    result = check(adult_plan(vials=[vial(reconstituted_at="2026-11-23T10:00")]))
    f = next(f for f in result.findings if f.code == "RECONSTITUTION_EXPIRES_TODAY")
    assert "2026-11-24 10:00" in f.message


def test_with_a_time_of_injection_the_hours_are_exact(check):
    late = check(
        adult_plan(date="2026-11-24T10:30", vials=[vial(reconstituted_at="2026-11-23T10:00")])
    )
    f = next(f for f in late.findings if f.code == "RECONSTITUTED_TOO_LONG")
    assert (f.value, f.limit, f.unit) == (24.5, 24, "hours")
    early = check(
        adult_plan(date="2026-11-24T09:30", vials=[vial(reconstituted_at="2026-11-23T10:00")])
    )
    assert not {"RECONSTITUTED_TOO_LONG", "RECONSTITUTION_EXPIRES_TODAY"} & set(codes(early))


def test_solution_products_use_their_own_hours_after_dilution(check):
    plan = adult_plan(
        product="othertoxinB",
        indication="cervical_dystonia",
        date="2026-11-24T13:00",
        vials=[{"size_units": 5000, "diluent_ml": 1, "reconstituted_at": "2026-11-24T08:30"}],
        injections=[{"muscle": "splenius_capitis", "side": "left", "units": 2500}],
    )
    f = next(f for f in check(plan).findings if f.code == "RECONSTITUTED_TOO_LONG")
    assert (f.value, f.limit) == (4.5, 4)


def test_warns_when_the_plan_needs_more_than_the_vials_hold(check):
    result = check(adult_plan(vials=[{"size_units": 100, "diluent_ml": 2}]))
    f = next(f for f in result.findings if f.code == "PLAN_EXCEEDS_VIALS")
    assert (f.value, f.limit) == (125, 100)


def test_warns_a_vial_size_the_product_is_not_supplied_in(check):
    assert "VIAL_SIZE_NOT_SUPPLIED" in codes(check(adult_plan(vials=[vial(size_units=500)])))


def test_informs_of_a_dilution_outside_the_label_table(check):
    assert "DILUTION_NOT_IN_LABEL" in codes(check(adult_plan(vials=[vial(diluent_ml=3)])))
    assert "DILUTION_NOT_IN_LABEL" not in codes(check(adult_plan(vials=[vial(diluent_ml=4)])))
