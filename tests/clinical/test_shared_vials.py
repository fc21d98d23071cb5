"""A vial shared across patients (clinical/shared_vials.py): the label's use-within hours
from the reference data (never a default), expiry, products never mixed, units left, and
the JW/JZ modifier of a closed vial."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bontrack.clinical import shared_vials
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
