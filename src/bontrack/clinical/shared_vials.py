"""A vial shared across patients (issue 17 item 9): may units be drawn from this
reconstituted vial into this cycle now, and how much is left or was discarded.

Pure: the product's label (reference data) and the times are parameters. The use-within time
after reconstitution comes only from the product's cited ``use_within_hours_after_
reconstitution``; where the reference data holds none, the time is "not checked" (never a
default). Expiry and the label's hours are stop findings (``VIAL_EXPIRED``,
``RECONSTITUTED_TOO_LONG``, as in the plan check) that a clinician may override with a
reason; another product's cycle or more units than the vial holds are refused outright:
units of different products are never mixed, and a vial cannot give more than it holds.

A lot is searched as typed and also loosely, so that "L 77-a" finds "L77A": ``lot_match``
says how a recorded lot matches a search (exactly but for letter case and spaces around it;
the same once spaces and hyphens are ignored; or starting with the search), and every row of
a search carries the lot it matched, so a recall list is never silently widened.

The units drawn from the log into one cycle are compared with the cycle's planned total (the
sum of its injections, in the cycle's one product: ``Units`` refuses any other product's).
A draw that would take the drawn total above the plan is a stop, ``DRAW_ABOVE_PLAN``: the
plan's dose checks were made for the planned total, so more toxin drawn for the patient than
that is either a plan to amend or a clinician's decision with a reason. No allowance (for a
syringe's dead space or anything else) is assumed: no cited number exists for one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from bontrack.clinical.units import Units, format_amount
from bontrack.reference import Reference
from bontrack.reference.schema import Product

OK = "ok"
NOT_CHECKED = "not_checked"
OVERRIDDEN = "overridden"

#: how a recorded lot matches a lot search, best first
EXACT, NORMALISED, PREFIX = "exact", "normalised", "prefix"
LOT_MATCHES = (EXACT, NORMALISED, PREFIX)
#: characters a lot is compared without (as printed and as typed they come and go)
LOT_IGNORED = (" ", "-")

DRAW_ABOVE_PLAN = "DRAW_ABOVE_PLAN"
#: a cycle's units drawn from the log against its plan
NONE_DRAWN, PART_DRAWN, ALL_DRAWN, ABOVE_PLAN = "none", "part", "all", "above"


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


def lot_key(lot: str) -> str:
    """The lot compared loosely: upper case, without spaces and hyphens ("l 77-a" -> "L77A")."""
    key = lot.upper()
    for ch in LOT_IGNORED:
        key = key.replace(ch, "")
    return key


def lot_match(search: str, lot: str) -> str | None:
    """How a recorded ``lot`` matches a ``search``: EXACT (letter case and spaces around
    ignored), NORMALISED (the same once spaces and hyphens are ignored), PREFIX (the lot
    starts with the search, as typed or so compared), or None."""
    wanted, have = search.strip().upper(), lot.strip().upper()
    if wanted == have:
        return EXACT
    if lot_key(wanted) == lot_key(have):
        return NORMALISED
    if have.startswith(wanted) or lot_key(have).startswith(lot_key(wanted)):
        return PREFIX
    return None


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


class PlanComparison(NamedTuple):
    """The units drawn from the vial log into one cycle against the cycle's planned total."""

    planned: Units
    drawn: Units
    status: str  # NONE_DRAWN, PART_DRAWN, ALL_DRAWN or ABOVE_PLAN
    left: Units  # still to draw to reach the plan (zero once reached)
    above: Units  # drawn beyond the plan (zero unless ABOVE_PLAN)
    text: str


def against_plan(planned: Units, drawn: Units) -> PlanComparison:
    """Compare the units drawn from the log into a cycle with its planned total (both in the
    cycle's product: ``Units`` raises on two products, nothing is converted)."""
    zero = Units.zero(planned.product)
    left = planned - drawn if drawn < planned else zero
    above = drawn - planned if drawn > planned else zero
    p, d = format_amount(planned.amount), format_amount(drawn.amount)
    if drawn > planned:
        return PlanComparison(planned, drawn, ABOVE_PLAN, left, above,
                              f"{d} U drawn from the vial log: "
                              f"{format_amount(above.amount)} U above the {p} U planned")
    if drawn == planned:
        return PlanComparison(planned, drawn, ALL_DRAWN, left, above,
                              f"{d} U drawn from the vial log, as planned ({p} U)")
    if drawn.amount == 0:
        return PlanComparison(planned, drawn, NONE_DRAWN, left, above,
                              f"nothing drawn from the vial log; {p} U planned")
    return PlanComparison(planned, drawn, PART_DRAWN, left, above,
                          f"{d} U drawn from the vial log of the {p} U planned "
                          f"({format_amount(left.amount)} U not drawn from the log)")


def above_plan_stop(planned: Units, drawn_before: Units, units: Units,
                    cycle: str) -> DrawStop | None:
    """DRAW_ABOVE_PLAN where drawing ``units`` more would take the units drawn from the log
    into the cycle (``cycle``: how to name it) above its planned total; the words give the
    figures: the plan, what was drawn already, this draw and the total it would make."""
    after = drawn_before + units
    if after <= planned:
        return None
    already = (f"{format_amount(drawn_before.amount)} U drawn already"
               if drawn_before.amount else "nothing drawn yet")
    return DrawStop(
        DRAW_ABOVE_PLAN, "units",
        f"{format_amount(units.amount)} U more for {cycle} would make "
        f"{format_amount(after.amount)} U drawn from the vial log, "
        f"{format_amount((after - planned).amount)} U above the "
        f"{format_amount(planned.amount)} U planned (the sum of its injections; {already}). "
        "The plan's dose checks were made for the planned units: amend the cycle's plan, "
        "or draw only what it plans.", None)
