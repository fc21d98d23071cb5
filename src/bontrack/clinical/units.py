"""Units belong to a product.

A unit of one botulinum toxin product is not a unit of another: every label says the units
"cannot be compared to or converted into units of any other botulinum toxin product". The
``Units`` value makes that a type error: adding or comparing across products raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from bontrack.errors import UnitsMismatchError as UnitsMismatchError  # re-exported


@dataclass(frozen=True, slots=True)
class Units:
    product: str
    amount: Decimal

    def _same(self, other: Units) -> None:
        if not isinstance(other, Units):
            raise TypeError(f"cannot combine Units with {type(other).__name__}")
        if other.product != self.product:
            raise UnitsMismatchError(
                f"units of {self.product} and {other.product} are not interchangeable"
            )

    def __add__(self, other: Units) -> Units:
        self._same(other)
        return Units(self.product, self.amount + other.amount)

    def __sub__(self, other: Units) -> Units:
        self._same(other)
        return Units(self.product, self.amount - other.amount)

    def __lt__(self, other: Units) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Units) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Units) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Units) -> bool:
        self._same(other)
        return self.amount >= other.amount

    @classmethod
    def zero(cls, product: str) -> Units:
        return cls(product, Decimal(0))

    def __str__(self) -> str:
        return f"{format_amount(self.amount)} U ({self.product})"


def total(product: str, amounts: list[Units]) -> Units:
    """Sum units of one product; refuses any other product's units."""
    acc = Units.zero(product)
    for a in amounts:
        acc = acc + a
    return acc


@lru_cache(maxsize=4096)
def format_amount(x: Decimal) -> str:
    """1.50 -> '1.5', 100.00 -> '100'."""
    if x == x.to_integral_value():
        return str(x.quantize(Decimal(1)))
    return format(x.normalize(), "f")
