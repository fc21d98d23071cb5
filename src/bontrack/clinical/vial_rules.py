"""Vial rules: expiry, time since reconstitution, capacity, supplied sizes and dilutions."""

from __future__ import annotations

from decimal import Decimal

from bontrack.clinical.context import Context, u
from bontrack.clinical.findings import Finding
from bontrack.clinical.units import format_amount
from bontrack.reference.catalogue import Reference
from bontrack.reference.schema import Product
from bontrack.reference.schema import Vial as ReferenceVial


def _vial_name(i: int, lot: str | None) -> str:
    return f"Vial {i + 1}" + (f" (lot {lot})" if lot else "")


def vial_expiry(ctx: Context) -> list[Finding]:
    """VIAL_EXPIRED: a vial whose expiry date is before the day of injection."""
    out = []
    for i, v in enumerate(ctx.plan.vials):
        if v.expiry is not None and v.expiry < ctx.day:
            out.append(
                ctx.finding(
                    "VIAL_EXPIRED",
                    f"{_vial_name(i, v.lot)} expired on {v.expiry}; the injection "
                    f"day is {ctx.day}.",
                    ctx.product.vials[0].source,
                    value=(ctx.day - v.expiry).days,
                    limit=0,
                    unit="days past expiry",
                )
            )
    return out


def reconstitution_age(ctx: Context) -> list[Finding]:
    """RECONSTITUTED_TOO_LONG where the label's hours after reconstitution have passed at the
    time of injection (or at the start of the day, where the plan gives no time);
    RECONSTITUTION_EXPIRES_TODAY where they run out during the day and no time is given."""
    limit = ctx.product.use_within_hours_after_reconstitution
    if limit is None:
        return []
    out = []
    moment = ctx.moment
    start, end = ctx.day_bounds()
    at = moment or start
    for i, (v, vp) in enumerate(zip(ctx.plan.vials, ctx.prep.vials, strict=True)):
        if v.reconstituted_at is None or vp.use_by is None:
            continue
        if at > vp.use_by:
            hours = Decimal(str((at - v.reconstituted_at).total_seconds())) / 3600
            out.append(
                ctx.finding(
                    "RECONSTITUTED_TOO_LONG",
                    f"{_vial_name(i, v.lot)} was reconstituted at "
                    f"{v.reconstituted_at:%Y-%m-%d %H:%M}; by {at:%Y-%m-%d %H:%M} that is "
                    f"{hours:.1f} hours, more than the labelled {format_amount(limit.value)} "
                    f"hours (use by {vp.use_by:%Y-%m-%d %H:%M}).",
                    limit.source,
                    value=round(hours, 1),
                    limit=limit.value,
                    unit="hours",
                )
            )
        elif moment is None and vp.use_by < end:
            out.append(
                ctx.finding(
                    "RECONSTITUTION_EXPIRES_TODAY",
                    f"{_vial_name(i, v.lot)} must be used by {vp.use_by:%Y-%m-%d %H:%M} "
                    f"({format_amount(limit.value)} hours after reconstitution); the plan "
                    "gives no time of injection.",
                    limit.source,
                    limit=limit.value,
                    unit="hours",
                )
            )
    return out


def vial_capacity(ctx: Context) -> list[Finding]:
    """PLAN_EXCEEDS_VIALS: more units planned than the listed vials hold."""
    cap = ctx.prep.capacity_units
    total = ctx.prep.total_units
    if cap is None or total <= cap:
        return []
    return [
        ctx.finding(
            "PLAN_EXCEEDS_VIALS",
            f"The plan needs {u(total)} but the listed vials hold {u(cap)}.",
            None,
            value=total,
            limit=cap,
            unit="U",
        )
    ]


def vial_sizes(ctx: Context) -> list[Finding]:
    """VIAL_SIZE_NOT_SUPPLIED: a vial size this product is not supplied in (a sign the vial
    belongs to another product); DILUTION_NOT_IN_LABEL: a diluent volume the label's
    dilution table does not list for that vial size."""
    if not ctx.plan.vials:
        return []
    supplied, volumes = ctx.ref.derived("vial_sizes", ctx.product, _vial_tables)
    out = []
    for i, v in enumerate(ctx.plan.vials):
        if v.size_units not in supplied:
            sizes = ", ".join(format_amount(s) for s in sorted(supplied))
            out.append(
                ctx.finding(
                    "VIAL_SIZE_NOT_SUPPLIED",
                    f"{_vial_name(i, v.lot)}: {ctx.product_name()} is supplied in {sizes} unit "
                    f"vials, not {format_amount(v.size_units)}; check the vial is this product.",
                    ctx.product.vials[0].source,
                    value=v.size_units,
                    unit="U",
                )
            )
            continue
        listed_ml = volumes.get(v.size_units)
        if listed_ml and v.diluent_ml is not None and v.diluent_ml not in listed_ml:
            listed = ", ".join(format_amount(x) for x in sorted(set(listed_ml)))
            table = next(r for r in ctx.product.reconstitution if r.size_units == v.size_units)
            out.append(
                ctx.finding(
                    "DILUTION_NOT_IN_LABEL",
                    f"{_vial_name(i, v.lot)}: {format_amount(v.diluent_ml)} mL of diluent is not "
                    f"among the volumes bontrack's copy of the label lists for this vial "
                    f"({listed} mL); check the concentration.",
                    table.source,
                    value=v.diluent_ml,
                    unit="mL",
                )
            )
    return out


def _vial_tables(ref: Reference, product: Product
                 ) -> tuple[dict[Decimal, ReferenceVial], dict[Decimal, list[Decimal]]]:
    """The product's vials by size and the diluent volumes its label lists for each size
    (built once per product)."""
    supplied = {v.size_units: v for v in product.vials}
    volumes: dict[Decimal, list[Decimal]] = {}
    for r in product.reconstitution:
        volumes.setdefault(r.size_units, []).extend(r.diluent_ml)
    return supplied, volumes


VIAL_RULES = (vial_expiry, reconstitution_age, vial_capacity, vial_sizes)
