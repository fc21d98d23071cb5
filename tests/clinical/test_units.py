"""Units of different products never mix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bontrack.clinical.units import Units, UnitsMismatchError, total


def test_units_of_one_product_add_up():
    assert Units("a", Decimal(2)) + Units("a", Decimal(3)) == Units("a", Decimal(5))


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__lt__", "__le__", "__gt__", "__ge__"])
def test_units_of_two_products_refuse_to_combine(op):
    with pytest.raises(UnitsMismatchError):
        getattr(Units("onabotulinumtoxinA", Decimal(100)), op)(
            Units("abobotulinumtoxinA", Decimal(100))
        )


def test_total_refuses_a_foreign_product():
    with pytest.raises(UnitsMismatchError):
        total("a", [Units("a", Decimal(1)), Units("b", Decimal(1))])


def test_units_refuse_plain_numbers():
    with pytest.raises(TypeError):
        Units("a", Decimal(1)) + 1  # type: ignore[operator]
