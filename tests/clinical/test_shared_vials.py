"""A vial shared across patients (clinical/shared_vials.py): the label's use-within hours
from the reference data (never a default), expiry, products never mixed, units left, and
the JW/JZ modifier of a closed vial."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bontrack.clinical import shared_vials
from bontrack.clinical.units import Units
from bontrack.errors import UnitsMismatchError
from bontrack.reference import default_reference

REF = default_reference()
AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def hours_of(product: str) -> Decimal:
    limit = REF.products[product].use_within_hours_after_reconstitution
    assert limit is not None
    return limit.value


@pytest.mark.parametrize("product", ["onabotulinumtoxinA", "abobotulinumtoxinA",
                                     "incobotulinumtoxinA"])
def test_a_draw_past_the_labels_hours_is_a_stop_citing_them(product):
    hours = float(hours_of(product))
    made = AT - timedelta(hours=hours, minutes=1)
    _check, stop = shared_vials.time_check(REF.products[product], REF, "L1", made, AT)
    assert stop is not None and stop.code == "RECONSTITUTED_TOO_LONG"
    assert stop.field == "drawn_at" and f"{hours:g} hours" in stop.message
    assert REF.products[product].use_within_hours_after_reconstitution.source.quote \
        in stop.message  # type: ignore[union-attr]
    ok, none = shared_vials.time_check(REF.products[product], REF, "L1",
                                       AT - timedelta(hours=hours), AT)
    assert none is None and ok.status == shared_vials.OK


@pytest.mark.parametrize("product", ["rimabotulinumtoxinB", "daxibotulinumtoxinA"])
def test_a_product_without_cited_hours_is_not_checked_never_assumed(product):
    check, stop = shared_vials.time_check(REF.products[product], REF, "L1",
                                          AT - timedelta(days=30), AT)
    assert stop is None and check.status == shared_vials.NOT_CHECKED
    assert "not checked" in check.text and check.use_by is None


def test_an_expired_vial_is_a_stop_on_the_day_after_its_expiry():
    p = REF.products["onabotulinumtoxinA"]
    assert shared_vials.expiry_stop(p, REF, "L1", date(2026, 12, 7), AT) is None
    stop = shared_vials.expiry_stop(p, REF, "L1", date(2026, 12, 6), AT)
    assert stop is not None and stop.code == "VIAL_EXPIRED" and stop.field == "expiry"


def test_units_of_another_product_are_refused():
    p = REF.products["onabotulinumtoxinA"]
    assert shared_vials.product_refusal(p, "onabotulinumtoxinA", REF) is None
    words = shared_vials.product_refusal(p, "abobotulinumtoxinA", REF)
    assert words and words.startswith("cycle_id:") and "DYSPORT" in words


def test_a_draw_beyond_the_units_left_is_refused_naming_units():
    assert shared_vials.capacity_refusal(Decimal(100), Decimal(60), Decimal(40)) is None
    words = shared_vials.capacity_refusal(Decimal(100), Decimal(60), Decimal("40.5"))
    assert words and words.startswith("units:") and "40 U left" in words


def test_a_closed_vial_is_jw_with_units_discarded_and_jz_without():
    assert shared_vials.billing_modifier(Decimal("0.5")) == "JW"
    assert shared_vials.billing_modifier(Decimal(0)) == "JZ"
    assert shared_vials.billing_modifier(None) is None


# -- the units drawn from the log into a cycle against its planned total --------------------

def u(amount: str, product: str = "onabotulinumtoxinA") -> Units:
    return Units(product, Decimal(amount))


@pytest.mark.parametrize("planned,drawn,status,left,above,words", [
    ("100", "0", shared_vials.NONE_DRAWN, "100", "0", "nothing drawn from the vial log; 100 U"),
    ("100", "40", shared_vials.PART_DRAWN, "60", "0", "40 U drawn from the vial log of the 100"),
    ("100", "99.9", shared_vials.PART_DRAWN, "0.1", "0", "(0.1 U not drawn from the log)"),
    ("100", "100", shared_vials.ALL_DRAWN, "0", "0", "as planned (100 U)"),
    ("100", "100.00", shared_vials.ALL_DRAWN, "0", "0", "100 U drawn"),
    ("100", "100.5", shared_vials.ABOVE_PLAN, "0", "0.5", "0.5 U above the 100 U planned"),
    ("12.5", "25", shared_vials.ABOVE_PLAN, "0", "12.5", "25 U drawn from the vial log"),
    ("0", "5", shared_vials.ABOVE_PLAN, "0", "5", "5 U above the 0 U planned"),
])
def test_the_units_drawn_for_a_cycle_are_compared_with_its_plan(planned, drawn, status, left,
                                                                 above, words):
    c = shared_vials.against_plan(u(planned), u(drawn))
    assert c.status == status
    assert c.left == u(left) and c.above == u(above)
    assert words in c.text


@pytest.mark.parametrize("planned,before,units,stops,words", [
    ("100", "0", "100", False, None),  # exactly the plan
    ("100", "60", "40", False, None),  # two draws that make the plan
    ("100", "0", "100.1", True, "100.1 U drawn from the vial log, 0.1 U above the 100 U "
                                "planned (the sum of its injections; nothing drawn yet)"),
    ("100", "60", "50", True, "50 U more for cycle 7 of 2026-12-07 would make 110 U drawn "
                              "from the vial log, 10 U above the 100 U planned (the sum of "
                              "its injections; 60 U drawn already)"),
    ("100", "100", "1", True, "101 U drawn"),  # the plan already drawn: any more is above
    ("150", "200", "0.5", True, "50.5 U above"),  # already above (the plan was amended down)
])
def test_a_draw_above_the_cycles_plan_is_a_stop_giving_the_figures(planned, before, units,
                                                                  stops, words):
    stop = shared_vials.above_plan_stop(u(planned), u(before), u(units),
                                        "cycle 7 of 2026-12-07")
    assert (stop is not None) is stops
    if stop is not None:
        assert stop.code == shared_vials.DRAW_ABOVE_PLAN and stop.field == "units"
        assert words in stop.message, stop.message
        assert "amend the cycle's plan" in stop.message


def test_units_of_another_product_are_never_compared_with_a_plan():
    with pytest.raises(UnitsMismatchError):
        shared_vials.against_plan(u("100"), u("50", "abobotulinumtoxinA"))
    with pytest.raises(UnitsMismatchError):
        shared_vials.above_plan_stop(u("100"), u("0"), u("50", "abobotulinumtoxinA"), "c")


# -- how a recorded lot matches a lot search ------------------------------------------------

@pytest.mark.parametrize("search,lot,how", [
    ("L-77A", "L-77A", shared_vials.EXACT),
    (" l-77a ", "L-77A", shared_vials.EXACT),  # letter case and spaces around
    ("L-77A", "l-77a ", shared_vials.EXACT),
    ("L-77A", "L77A", shared_vials.NORMALISED),  # hyphen ignored
    ("l 77 a", "L-77A", shared_vials.NORMALISED),  # spaces and hyphens ignored
    ("L77A", "L - 77 - A", shared_vials.NORMALISED),
    ("L-77", "L-77A", shared_vials.PREFIX),  # starts with it
    ("l77", "L-77AB", shared_vials.PREFIX),  # starts with it once compared loosely
    ("L-77A", "L-77AB", shared_vials.PREFIX),
    ("L-77AB", "L-77A", None),  # the lot is shorter than the search
    ("L-77A", "XL-77A", None),  # contains it, does not start with it
    ("L-78", "L-77A", None),
    ("AB%", "AB%1", shared_vials.PREFIX),  # % and _ are characters, never wildcards
    ("AB%", "ABX1", None),
    ("AB_1", "ABX1", None),
    ("AB_1", "AB_1", shared_vials.EXACT),
    ("A/", "A/1", shared_vials.PREFIX),
])
def test_a_recorded_lot_matches_a_search_exactly_loosely_or_by_its_start(search, lot, how):
    assert shared_vials.lot_match(search, lot) == how


def test_the_loose_form_of_a_lot_drops_only_spaces_and_hyphens():
    assert shared_vials.lot_key("l 77-a") == "L77A"
    assert shared_vials.lot_key("AB_1%/") == "AB_1%/"
    assert shared_vials.lot_key(" - ") == ""
