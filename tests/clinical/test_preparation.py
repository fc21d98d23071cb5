"""Dilution arithmetic: units per 0.1 mL, mL per site, vials needed, units discarded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import adult_plan


@pytest.mark.parametrize(
    ("size", "diluent", "per_tenth"),
    [
        (100, 1, 10),
        (100, 2, 5),
        (100, 4, 2.5),
        (100, 8, 1.25),
        (200, 1, 20),
        (200, 2, 10),
        (200, 4, 5),
        (200, 8, 2.5),
    ],
)
def test_units_per_0_1_ml_from_vial_size_and_diluent(check, size, diluent, per_tenth):
    plan = adult_plan(vials=[{"size_units": size, "diluent_ml": diluent}])
    assert check(plan).preparation.units_per_0_1_ml == Decimal(str(per_tenth))


def test_ml_per_site_is_units_per_site_over_concentration(check):
    # 100 U / 2 mL = 50 U/mL; biceps 100 U over 4 sites = 25 U = 0.5 mL per site
    prep = check(
        adult_plan(
            vials=[{"size_units": 100, "diluent_ml": 2}, {"size_units": 100, "diluent_ml": 2}]
        )
    ).preparation
    biceps = prep.per_injection[0]
    assert (biceps.units_per_site, biceps.ml_per_site) == (25, Decimal("0.5"))
    assert prep.total_ml == Decimal("2.5")


def test_units_discarded_from_opened_vials_for_jw_billing(check):
    prep = check(
        adult_plan(
            vials=[
                {"size_units": 100, "diluent_ml": 2},
                {"size_units": 100, "diluent_ml": 2},
                {"size_units": 100, "diluent_ml": 2},
            ]
        )
    ).preparation
    assert (prep.vials_needed, prep.units_discarded, prep.billing_modifier) == (2, 75, "JW")


def test_no_units_discarded_gives_jz(check):
    plan = adult_plan(
        vials=[{"size_units": 100, "diluent_ml": 2}],
        injections=[{"muscle": "biceps_brachii", "side": "left", "units": 100, "sites": 4}],
    )
    prep = check(plan).preparation
    assert (prep.units_discarded, prep.billing_modifier) == (0, "JZ")


def test_mixed_dilutions_give_no_single_concentration(check):
    prep = check(
        adult_plan(
            vials=[{"size_units": 100, "diluent_ml": 2}, {"size_units": 100, "diluent_ml": 4}]
        )
    ).preparation
    assert prep.units_per_0_1_ml is None
    assert all(p.ml_per_site is None for p in prep.per_injection)


@pytest.mark.parametrize(
    ("total", "suggested", "waste"),
    [(125, (200,), 75), (100, (100,), 0), (300, (200, 100), 0), (250, (200, 100), 50)],
)
def test_without_vials_the_least_wasteful_supplied_sizes_are_suggested(
    check, total, suggested, waste
):
    plan = adult_plan(
        injections=[{"muscle": "biceps_brachii", "side": "left", "units": total, "sites": 4}]
    )
    prep = check(plan).preparation
    assert prep.suggested_vials == tuple(Decimal(s) for s in suggested)
    assert prep.units_discarded == waste


def test_solution_concentration_without_and_with_added_saline(check):
    base = {
        "product": "othertoxinB",
        "indication": "cervical_dystonia",
        "injections": [{"muscle": "splenius_capitis", "side": "left", "units": 2500, "sites": 2}],
    }
    undiluted = check(adult_plan(vials=[{"size_units": 2500}], **base)).preparation
    assert undiluted.units_per_0_1_ml == 500
    diluted = check(adult_plan(vials=[{"size_units": 2500, "diluent_ml": 0.5}], **base))
    assert diluted.preparation.units_per_0_1_ml == 250
