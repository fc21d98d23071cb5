"""Dose rules on the synthetic label (tests/fixtures/testotoxinA.yaml): each limit is hit
just at and just above its number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import adult_plan, codes


def inj(muscle: str, units: float, sites: int = 1, side: str = "left") -> dict[str, object]:
    return {"muscle": muscle, "side": side, "units": units, "sites": sites}


def test_accepts_adult_upper_limb_plan_within_every_limit(check):
    result = check(adult_plan())
    assert result.verdict == "ok"
    assert result.total_units == Decimal(125)


def test_accepts_adult_upper_limb_plan_at_exactly_400_units(check):
    plan = adult_plan(
        injections=[inj("biceps_brachii", 200, 4), inj("biceps_brachii", 200, 4, "right")]
    )
    assert "SESSION_MAX_EXCEEDED" not in codes(check(plan))


def test_stops_adult_upper_limb_plan_above_400_units(check):
    plan = adult_plan(
        injections=[inj("biceps_brachii", 200, 4), inj("biceps_brachii", 200.5, 5, "right")]
    )
    result = check(plan)
    f = next(f for f in result.findings if f.code == "SESSION_MAX_EXCEEDED")
    assert (f.value, f.limit, f.unit) == (Decimal("400.5"), Decimal(400), "U")
    assert f.source and "Synthetic test label" in f.source
    assert result.verdict == "stop"


def child(weight: float, **kw: object) -> dict[str, object]:
    return adult_plan(patient={"birth_date": "2016-05-01", "weight_kg": weight}, **kw)


@pytest.mark.parametrize(
    ("weight", "units", "stops"),
    [
        (20, 120, False),  # 6 U/kg x 20 kg = 120: at the limit
        (20, 120.5, True),
        (40, 200, False),  # 6 x 40 = 240, capped at 200
        (40, 201, True),
    ],
)
def test_child_total_is_held_to_6_units_per_kg_or_200_units_whichever_is_lower(
    check, weight, units, stops
):
    result = check(child(weight, injections=[inj("biceps_brachii", units, 4)]))
    assert ("WEIGHT_BASED_MAX_EXCEEDED" in codes(result)) is stops


def test_per_limb_limit_counts_each_leg_separately(check):
    # 4 U/kg x 30 kg = 120 per limb (cap 150): 120 in each leg is fine, 121 in one is not.
    legs = [inj("soleus", 120, 2, "left"), inj("soleus", 120, 2, "right")]
    ok = check(child(30, indication="lower_limb_spasticity", injections=legs))
    assert "WEIGHT_BASED_MAX_EXCEEDED" not in codes(ok)
    legs[0]["units"] = 121
    over = check(child(30, indication="lower_limb_spasticity", injections=legs))
    found = [f for f in over.findings if f.code == "WEIGHT_BASED_MAX_EXCEEDED"]
    assert [(f.side, f.value, f.limit) for f in found] == [("left", 121, 120)]


def test_stops_when_this_plan_and_earlier_same_product_units_pass_the_3_month_limit(check):
    history = [
        {
            "date": "2026-10-01",
            "product": "testotoxinA",
            "indication": "cervical_dystonia",
            "total_units": 300,
        }
    ]
    result = check(adult_plan(history=history))
    f = next(f for f in result.findings if f.code == "CUMULATIVE_MAX_EXCEEDED")
    assert (f.value, f.limit) == (425, 400)


def test_cumulative_window_leaves_out_treatments_older_than_3_months(check):
    history = [
        {
            "date": "2026-08-24",
            "product": "testotoxinA",
            "indication": "cervical_dystonia",
            "total_units": 300,
        }
    ]
    assert "CUMULATIVE_MAX_EXCEEDED" not in codes(check(adult_plan(history=history)))
    history[0]["date"] = "2026-08-25"
    assert "CUMULATIVE_MAX_EXCEEDED" in codes(check(adult_plan(history=history)))


def test_child_cumulative_limit_is_10_units_per_kg_or_340_whichever_is_lower(check):
    history = [
        {
            "date": "2026-10-01",
            "product": "testotoxinA",
            "indication": "lower_limb_spasticity",
            "total_units": 150,
        }
    ]
    # 20 kg: 10 U/kg = 200 < 340; 150 earlier + 60 now = 210 > 200
    result = check(child(20, injections=[inj("biceps_brachii", 60, 4)], history=history))
    f = next(f for f in result.findings if f.code == "CUMULATIVE_MAX_EXCEEDED")
    assert (f.value, f.limit) == (210, 200)


def test_other_products_units_are_never_added_to_the_cumulative_total(check):
    history = [
        {
            "date": "2026-10-01",
            "product": "othertoxinB",
            "indication": "cervical_dystonia",
            "total_units": 5000,
        }
    ]
    result = check(adult_plan(history=history))
    assert "CUMULATIVE_MAX_EXCEEDED" not in codes(result)
    f = next(f for f in result.findings if f.code == "UNITS_NOT_INTERCHANGEABLE")
    assert f.value == 5000 and f.unit == "U (othertoxinB)"
    assert "not added" in f.message


@pytest.mark.parametrize(
    ("last", "stops"),
    [
        ("2026-08-01", False),  # 115 days
        ("2026-09-01", False),  # 84 days = exactly 12 weeks: allowed
        ("2026-09-02", True),  # 83 days
        ("2026-11-24", True),  # same day
    ],
)
def test_stops_retreatment_for_the_same_indication_sooner_than_12_weeks(check, last, stops):
    history = [
        {
            "date": last,
            "product": "testotoxinA",
            "indication": "upper_limb_spasticity",
            "total_units": 100,
        }
    ]
    result = check(adult_plan(history=history))
    assert ("RETREATMENT_TOO_SOON" in codes(result)) is stops


def test_retreatment_counts_any_product_for_the_same_indication(check):
    history = [
        {
            "date": "2026-10-01",
            "product": "othertoxinB",
            "indication": "upper_limb_spasticity",
            "total_units": 2500,
        }
    ]
    f = next(
        f for f in check(adult_plan(history=history)).findings if f.code == "RETREATMENT_TOO_SOON"
    )
    assert (f.value, f.limit, f.unit) == (54, 84, "days")
    assert "othertoxinB" in f.message


def test_earlier_treatment_for_another_indication_does_not_count_as_retreatment(check):
    history = [
        {
            "date": "2026-11-01",
            "product": "testotoxinA",
            "indication": "cervical_dystonia",
            "total_units": 100,
        }
    ]
    result = check(adult_plan(history=history))
    assert "RETREATMENT_TOO_SOON" not in codes(result)


def test_calendar_month_interval_for_cervical_dystonia(check):
    plan = adult_plan(
        indication="cervical_dystonia", injections=[inj("sternocleidomastoid", 50, 2)]
    )
    plan["history"] = [
        {
            "date": "2026-08-24",
            "product": "testotoxinA",
            "indication": "cervical_dystonia",
            "total_units": 100,
        }
    ]
    assert "RETREATMENT_TOO_SOON" not in codes(check(plan))
    plan["history"][0]["date"] = "2026-08-25"
    assert "RETREATMENT_TOO_SOON" in codes(check(plan))


def test_stops_more_than_50_units_in_one_site(check):
    plan = adult_plan(injections=[inj("biceps_brachii", 102, 2)])
    f = next(f for f in check(plan).findings if f.code == "SITE_DOSE_ABOVE_MAX" and f.unit == "U")
    assert (f.value, f.limit, f.muscle, f.side) == (51, 50, "biceps_brachii", "left")


def test_stops_more_than_1_ml_in_one_site(check):
    # 100 U vial in 8 mL = 12.5 U/mL; 25 U in one site = 2 mL
    plan = adult_plan(
        vials=[{"size_units": 100, "diluent_ml": 8}],
        injections=[inj("flexor_carpi_radialis", 25, 1)],
    )
    f = next(f for f in check(plan).findings if f.code == "SITE_DOSE_ABOVE_MAX")
    assert (f.value, f.limit, f.unit) == (2, 1, "mL")


def test_warns_above_and_informs_below_the_muscle_range(check):
    plan = adult_plan(injections=[inj("biceps_brachii", 201, 4), inj("flexor_carpi_radialis", 10)])
    found = {(f.code, f.muscle) for f in check(plan).findings}
    assert ("MUSCLE_DOSE_ABOVE_RANGE", "biceps_brachii") in found
    assert ("MUSCLE_DOSE_BELOW_RANGE", "flexor_carpi_radialis") in found


def test_muscle_range_is_per_side(check):
    plan = adult_plan(
        injections=[inj("biceps_brachii", 150, 3, "left"), inj("biceps_brachii", 150, 3, "right")]
    )
    assert "MUSCLE_DOSE_ABOVE_RANGE" not in codes(check(plan))


def test_child_muscle_range_is_units_per_kg_times_weight(check):
    # 1.5-3 U/kg x 20 kg = 30-60 U
    assert "MUSCLE_DOSE_ABOVE_RANGE" not in codes(
        check(child(20, injections=[inj("biceps_brachii", 60, 4)]))
    )
    assert "MUSCLE_DOSE_ABOVE_RANGE" in codes(
        check(child(20, injections=[inj("biceps_brachii", 61, 4)]))
    )


def test_both_sides_rows_compare_left_and_right_together(check):
    plan = adult_plan(
        indication="chronic_migraine",
        injections=[
            inj("frontalis", 10, 2, "left"),
            inj("frontalis", 10, 2, "right"),
            {"muscle": "procerus", "side": "midline", "units": 5, "sites": 1},
        ],
    )
    result = check(plan)
    assert not {"MUSCLE_DOSE_BELOW_RANGE", "SITES_OUTSIDE_RANGE"} & set(codes(result))


def test_sites_outside_the_table_are_reported(check):
    plan = adult_plan(injections=[inj("biceps_brachii", 100, 6)])
    f = next(f for f in check(plan).findings if f.code == "SITES_OUTSIDE_RANGE")
    assert (f.value, f.limit) == (6, 4)


def test_muscle_not_in_the_table_is_reported_as_info(check):
    plan = adult_plan(injections=[inj("triceps_brachii", 50, 2)])
    result = check(plan)
    assert "MUSCLE_NOT_IN_LABEL_TABLE" in codes(result)
    assert result.verdict == "ok"


def test_warns_when_sternocleidomastoid_total_passes_the_dysphagia_limit(check):
    plan = adult_plan(
        indication="cervical_dystonia",
        injections=[
            inj("sternocleidomastoid", 50, 2, "left"),
            inj("sternocleidomastoid", 51, 2, "right"),
        ],
    )
    f = next(f for f in check(plan).findings if f.code == "DYSPHAGIA_RISK")
    assert (f.value, f.limit, f.side) == (101, 100, None)
