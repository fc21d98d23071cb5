"""A vial shared across patients (issue 17 item 9): may units be drawn from this
reconstituted vial into this cycle now, and how much is left or was discarded.

Pure: the product's label (reference data) and the times are parameters. The use-within time
after reconstitution comes only from the product's cited ``use_within_hours_after_
reconstitution``; where the reference data holds none, the time is "not checked" (never a
default). Expiry and the label's hours are stop findings (``VIAL_EXPIRED``,
``RECONSTITUTED_TOO_LONG``, as in the plan check) that a clinician may override with a
reason; another product's cycle or more units than the vial holds are refused outright:
units of different products are never mixed, and a vial cannot give more than it holds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from bontrack.clinical.units import format_amount
from bontrack.reference import Reference
from bontrack.reference.schema import Product

OK = "ok"
NOT_CHECKED = "not_checked"
OVERRIDDEN = "overridden"


class DrawStop(NamedTuple):
    """A stop finding of a draw: its code, the field it concerns, words with the source."""

    code: str
    field: str
    message: str
    source: str | None


class TimeCheck(NamedTuple):
    """The use-within check: ``ok``, ``not_checked`` (no cited time) or a stop."""

    status: str
    text: str
    use_by: datetime | None


def vial_name(lot: str) -> str:
    return f"Vial of lot {lot}"


def use_within(product: Product, ref: Reference) -> tuple[Decimal, str, str] | None:
    """The label's hours after reconstitution, the one-line citation and the quoted words;
    None where the reference data holds no cited time for the product."""
    limit = product.use_within_hours_after_reconstitution
    if limit is None:
        return None
    return (limit.value, ref.citation(limit.source.document, limit.source.section),
            limit.source.quote)


def use_by(product: Product, reconstituted_at: datetime) -> datetime | None:
    limit = product.use_within_hours_after_reconstitution
    if limit is None:
        return None
    return reconstituted_at + timedelta(hours=float(limit.value))


def time_check(product: Product, ref: Reference, lot: str, reconstituted_at: datetime,
               at: datetime) -> tuple[TimeCheck, DrawStop | None]:
    """The use-within check of a draw at ``at``: the check kept with the draw, and the stop
    finding where the label's hours have passed."""
    cited = use_within(product, ref)
    if cited is None:
        return TimeCheck(NOT_CHECKED, f"Use-within time not checked: bontrack's reference "
                         f"data holds no cited time after reconstitution for "
                         f"{product.brands[0]}.", None), None
    hours, citation, quote = cited
    until = use_by(product, reconstituted_at)
    assert until is not None
    if at <= until:
        return TimeCheck(OK, f"Within the labelled {format_amount(hours)} hours after "
                         f"reconstitution (use by {until:%Y-%m-%d %H:%M} UTC; {citation}).",
                         until), None
    elapsed = Decimal(str((at - reconstituted_at).total_seconds())) / 3600
    message = (f"{vial_name(lot)} was reconstituted at {reconstituted_at:%Y-%m-%d %H:%M} UTC; "
               f"at {at:%Y-%m-%d %H:%M} UTC that is {elapsed:.1f} hours, more than the "
               f"labelled {format_amount(hours)} hours after reconstitution (use by "
               f"{until:%Y-%m-%d %H:%M} UTC). Source: {citation}: \"{quote}\"")
    stop = DrawStop("RECONSTITUTED_TOO_LONG", "drawn_at", message, citation)
    return TimeCheck("stop", message, until), stop


def expiry_stop(product: Product, ref: Reference, lot: str, expiry: date,
                at: datetime) -> DrawStop | None:
    """VIAL_EXPIRED where the day of the draw is after the vial's expiry date."""
    day = at.date()
    if expiry >= day:
        return None
    src = product.vials[0].source
    citation = ref.citation(src.document, src.section)
    return DrawStop("VIAL_EXPIRED", "expiry",
                    f"{vial_name(lot)} expired on {expiry}; the draw is on {day}. "
                    f"Source: {citation}", citation)


def product_refusal(vial_product: Product, cycle_product: str, ref: Reference) -> str | None:
    """Words refusing a draw into a cycle of another product (units never mixed)."""
    if cycle_product == vial_product.id:
        return None
    other = ref.products.get(cycle_product)
    other_name = other.brands[0] if other else cycle_product
    return (f"cycle_id: the cycle is of {other_name} ({cycle_product}) but the vial is "
            f"{vial_product.brands[0]} ({vial_product.id}); units of different products "
            "are not interchangeable and are never mixed")


def capacity_refusal(size: Decimal, drawn: Decimal, units: Decimal) -> str | None:
    """Words refusing a draw of more units than remain in the vial."""
    left = size - drawn
    if units <= left:
        return None
    return (f"units: {format_amount(units)} U is more than the {format_amount(left)} U left "
            f"in the vial ({format_amount(size)} U, {format_amount(drawn)} U drawn)")


def billing_modifier(discarded: Decimal | None) -> str | None:
    """JW where units of the closed vial were discarded, JZ where none were."""
    if discarded is None:
        return None
    return "JW" if discarded > 0 else "JZ"
