"""Dose rules: session, weight-based, cumulative, retreatment, per-site and per-muscle limits.

Each rule is a pure function of the ``Context`` that returns findings; none raises for an
unsafe plan. Numbers come only from the reference data; each finding carries the limit, the
value and the label section. Units are only ever summed within one product.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from bontrack.clinical.calendar import after, before
from bontrack.clinical.context import Context, u
from bontrack.clinical.findings import Finding
from bontrack.clinical.units import Units, format_amount, total
from bontrack.reference.schema import MuscleDose, WeightBasedLimit

LIMB_OF_REGION = {"upper_limb": "upper limb", "shoulder": "upper limb", "lower_limb": "lower limb"}


def session_max(ctx: Context) -> list[Finding]:
    """SESSION_MAX_EXCEEDED: the plan's total units above the label's maximum per treatment
    session for this indication and population (``session_max_units``)."""
    lab = ctx.label
    if lab is None or lab.session_max_units is None:
        return []
    limit = lab.session_max_units
    t = ctx.plan.total_units()
    if t <= limit.value:
        return []
    return [
        ctx.finding(
            "SESSION_MAX_EXCEEDED",
            f"Total {u(t)} is above the labelled maximum of {u(limit.value)} per treatment "
            f"for {lab.population} {ctx.indication_name()} with {ctx.product_name()}.",
            limit.source,
            value=t,
            limit=limit.value,
            unit="U",
        )
    ]


def _weight_cap(rule: WeightBasedLimit, weight: Decimal) -> Decimal:
    by_weight = rule.max_units_per_kg * weight
    return by_weight if rule.cap_units is None else min(by_weight, rule.cap_units)


def limb_totals(ctx: Context) -> dict[tuple[str, str], Decimal]:
    """Units per limb (upper or lower, on one side)."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for inj in ctx.plan.injections:
        limb = LIMB_OF_REGION.get(ctx.ref.muscles[inj.muscle].region)
        if limb is not None:
            out[(limb, inj.side)] += inj.units
    return dict(out)


def weight_based_max(ctx: Context) -> list[Finding]:
    """WEIGHT_BASED_MAX_EXCEEDED: a child's units above ``max_units_per_kg`` x weight or the
    absolute ``cap_units``, whichever is lower; per session or per limb as the label says."""
    lab = ctx.label
    if lab is None or not lab.weight_based or ctx.weight is None:
        return []
    out: list[Finding] = []
    for rule in lab.weight_based:
        cap = _weight_cap(rule, ctx.weight)
        how = f"{format_amount(rule.max_units_per_kg)} U/kg x {format_amount(ctx.weight)} kg" + (
            f" or {u(rule.cap_units)}, whichever is lower" if rule.cap_units else ""
        )
        if rule.scope == "session":
            t = ctx.plan.total_units()
            if t > cap:
                out.append(
                    ctx.finding(
                        "WEIGHT_BASED_MAX_EXCEEDED",
                        f"Total {u(t)} is above the weight-based maximum of {u(cap)} ({how}).",
                        rule.source,
                        value=t,
                        limit=cap,
                        unit="U",
                    )
                )
        else:
            for (limb, side), units in sorted(limb_totals(ctx).items()):
                if units > cap:
                    out.append(
                        ctx.finding(
                            "WEIGHT_BASED_MAX_EXCEEDED",
                            f"{u(units)} in the {side} {limb} is above the weight-based maximum "
                            f"of {u(cap)} per limb ({how}).",
                            rule.source,
                            value=units,
                            limit=cap,
                            unit="U",
                            side=side,
                        )
                    )
    return out


def cumulative_max(ctx: Context) -> list[Finding]:
    """CUMULATIVE_MAX_EXCEEDED: this plan plus the same product's units given (for any
    indication) within the label's window before the plan day, above the cumulative limit.
    Other products' units are never added (see UNITS_NOT_INTERCHANGEABLE)."""
    out: list[Finding] = []
    pid = ctx.product.id
    for lim in ctx.product.cumulative_limits:
        if lim.population not in (ctx.population, "any"):
            continue
        caps = []
        if lim.max_units is not None:
            caps.append(lim.max_units)
        if lim.max_units_per_kg is not None and ctx.weight is not None:
            caps.append(lim.max_units_per_kg * ctx.weight)
        if not caps:
            continue
        cap = min(caps)
        start = before(ctx.day, lim.window)
        earlier = [h for h in ctx.history if h.product == pid and h.date > start]
        summed = total(
            pid,
            [Units(pid, ctx.plan.total_units())] + [Units(pid, h.total_units) for h in earlier],
        )
        if summed.amount <= cap:
            continue
        given = ", ".join(f"{u(h.total_units)} on {h.date}" for h in earlier) or "none"
        out.append(
            ctx.finding(
                "CUMULATIVE_MAX_EXCEEDED",
                f"{u(summed.amount)} of {ctx.product_name()} within {lim.window.describe()} "
                f"(this plan {u(ctx.plan.total_units())}; earlier: {given}) is above the "
                f"cumulative maximum of {u(cap)} for {lim.population} patients.",
                lim.source,
                value=summed.amount,
                limit=cap,
                unit="U",
            )
        )
    return out


def retreatment_interval(ctx: Context) -> list[Finding]:
    """RETREATMENT_TOO_SOON: the last botulinum toxin treatment for the same indication, with
    any product, is closer than the label's minimum retreatment interval."""
    lab = ctx.label
    if lab is None or lab.retreatment_min_interval is None:
        return []
    same = [h for h in ctx.history if h.indication == ctx.plan.indication]
    if not same:
        return []
    last = max(same, key=lambda h: h.date)
    earliest = after(last.date, lab.retreatment_min_interval)
    if ctx.day >= earliest:
        return []
    gap = (ctx.day - last.date).days
    needed = (earliest - last.date).days
    other = "" if last.product == ctx.product.id else f" (with {ctx.product_name(last.product)})"
    return [
        ctx.finding(
            "RETREATMENT_TOO_SOON",
            f"The last treatment for {ctx.indication_name()} was on {last.date}{other}, "
            f"{gap} days ago; the label asks for at least "
            f"{lab.retreatment_min_interval.describe()} ({needed} days): earliest {earliest}.",
            lab.retreatment_min_interval.source,
            value=gap,
            limit=needed,
            unit="days",
        )
    ]


def site_dose(ctx: Context) -> list[Finding]:
    """SITE_DOSE_ABOVE_MAX: units (``per_site_max_units``) or volume (``per_site_max_ml``) per
    injection site above the label's maximum per site."""
    lab = ctx.label
    if lab is None:
        return []
    out: list[Finding] = []
    for ip in ctx.prep.per_injection:
        if lab.per_site_max_units is not None and ip.units_per_site > lab.per_site_max_units.value:
            out.append(
                ctx.finding(
                    "SITE_DOSE_ABOVE_MAX",
                    f"{ctx.muscle_name(ip.muscle)} ({ip.side}): {u(ip.units_per_site)} per site "
                    f"({u(ip.units)} over {ip.sites} sites) is above the labelled "
                    f"{u(lab.per_site_max_units.value)} per site.",
                    lab.per_site_max_units.source,
                    value=ip.units_per_site,
                    limit=lab.per_site_max_units.value,
                    unit="U",
                    muscle=ip.muscle,
                    side=ip.side,
                )
            )
        if (
            lab.per_site_max_ml is not None
            and ip.ml_per_site is not None
            and ip.ml_per_site > lab.per_site_max_ml.value
        ):
            out.append(
                ctx.finding(
                    "SITE_DOSE_ABOVE_MAX",
                    f"{ctx.muscle_name(ip.muscle)} ({ip.side}): "
                    f"{format_amount(round(ip.ml_per_site, 3))} mL per site is above the "
                    f"labelled {format_amount(lab.per_site_max_ml.value)} mL per site.",
                    lab.per_site_max_ml.source,
                    value=round(ip.ml_per_site, 3),
                    limit=lab.per_site_max_ml.value,
                    unit="mL",
                    muscle=ip.muscle,
                    side=ip.side,
                )
            )
    return out


def _muscle_sums(ctx: Context) -> dict[tuple[str, str], tuple[Decimal, int]]:
    sums: dict[tuple[str, str], tuple[Decimal, int]] = {}
    for inj in ctx.plan.injections:
        units, sites = sums.get((inj.muscle, inj.side), (Decimal(0), 0))
        sums[(inj.muscle, inj.side)] = (units + inj.units, sites + inj.sites)
    return sums


def _row_range(row: MuscleDose, weight: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    if row.units is not None:
        return row.units.min, row.units.max
    if row.units_per_kg is not None and weight is not None:
        r = row.units_per_kg
        return (
            r.min * weight if r.min is not None else None,
            r.max * weight if r.max is not None else None,
        )
    return None, None


def muscle_ranges(ctx: Context) -> list[Finding]:
    """MUSCLE_DOSE_ABOVE_RANGE / MUSCLE_DOSE_BELOW_RANGE / SITES_OUTSIDE_RANGE /
    MUSCLE_NOT_IN_LABEL_TABLE: each muscle's units and sites against the label's dosing
    table (per side, or both sides together where the table says so)."""
    lab = ctx.label
    if lab is None or not lab.muscles:
        return []
    rows = {r.muscle: r for r in lab.muscles}
    sums = _muscle_sums(ctx)
    groups: dict[tuple[str, str], tuple[Decimal, int]] = {}
    for (muscle, side), (units, sites) in sums.items():
        row = rows.get(muscle)
        key = (muscle, "both" if row is not None and row.both_sides else side)
        a, b = groups.get(key, (Decimal(0), 0))
        groups[key] = (a + units, b + sites)
    out: list[Finding] = []
    for (muscle, side), (units, sites) in sorted(groups.items()):
        row = rows.get(muscle)
        side_out = None if side == "both" else side
        where = ctx.muscle_name(muscle) + ("" if side == "both" else f" ({side})")
        if row is None:
            out.append(
                ctx.finding(
                    "MUSCLE_NOT_IN_LABEL_TABLE",
                    f"{where} is not in the label's dosing table for {ctx.indication_name()}: "
                    "no labelled range to compare with.",
                    lab.muscles[0].source,
                    value=units,
                    unit="U",
                    muscle=muscle,
                    side=side_out,
                )
            )
            continue
        low, high = _row_range(row, ctx.weight)
        src = (row.units or row.units_per_kg or row).source
        if high is not None and units > high:
            out.append(
                ctx.finding(
                    "MUSCLE_DOSE_ABOVE_RANGE",
                    f"{where}: {u(units)} is above the labelled range "
                    f"{_range_text(low, high)} for this muscle.",
                    src,
                    value=units,
                    limit=high,
                    unit="U",
                    muscle=muscle,
                    side=side_out,
                )
            )
        elif low is not None and units < low:
            out.append(
                ctx.finding(
                    "MUSCLE_DOSE_BELOW_RANGE",
                    f"{where}: {u(units)} is below the labelled range "
                    f"{_range_text(low, high)} for this muscle.",
                    src,
                    value=units,
                    limit=low,
                    unit="U",
                    muscle=muscle,
                    side=side_out,
                )
            )
        if row.sites is not None:
            smin, smax = row.sites.min, row.sites.max
            if (smin is not None and sites < smin) or (smax is not None and sites > smax):
                out.append(
                    ctx.finding(
                        "SITES_OUTSIDE_RANGE",
                        f"{where}: {sites} injection sites; the label's table gives "
                        f"{_range_text(smin, smax, unit='')} sites.",
                        row.sites.source,
                        value=sites,
                        limit=smax if smax is not None and sites > smax else smin,
                        unit="sites",
                        muscle=muscle,
                        side=side_out,
                    )
                )
    return out


def muscle_limits(ctx: Context) -> list[Finding]:
    """DYSPHAGIA_RISK (or MUSCLE_DOSE_ABOVE_RANGE): units in a named muscle above a label
    sentence's limit, e.g. a sternocleidomastoid limit that lowers the risk of dysphagia."""
    lab = ctx.label
    if lab is None:
        return []
    out: list[Finding] = []
    for lim in lab.muscle_limits:
        chosen = [i for i in ctx.plan.injections if i.muscle == lim.muscle]
        buckets: Iterable[tuple[str | None, Decimal]]
        if lim.per_side:
            per: dict[str, Decimal] = defaultdict(Decimal)
            for i in chosen:
                per[i.side] += i.units
            buckets = [(side, units) for side, units in sorted(per.items())]
        else:
            buckets = [(None, sum((i.units for i in chosen), Decimal(0)))]
        for side, units in buckets:
            if units > lim.max_units:
                scope = f" ({side})" if side else " (both sides together)"
                out.append(
                    ctx.finding(
                        lim.finding,
                        f"{ctx.muscle_name(lim.muscle)}{scope}: {u(units)} is above "
                        f"{u(lim.max_units)}, the dose the label names for this muscle.",
                        lim.source,
                        value=units,
                        limit=lim.max_units,
                        unit="U",
                        muscle=lim.muscle,
                        side=side,
                    )
                )
    return out


def _range_text(low: Decimal | None, high: Decimal | None, unit: str = " U") -> str:
    def f(x: Decimal) -> str:
        return format_amount(round(x, 1))

    if low is not None and high is not None:
        return f"{f(low)}-{f(high)}{unit}" if low != high else f"{f(low)}{unit}"
    if high is not None:
        return f"up to {f(high)}{unit}"
    assert low is not None
    return f"at least {f(low)}{unit}"


DOSE_RULES = (
    session_max,
    weight_based_max,
    cumulative_max,
    retreatment_interval,
    site_dose,
    muscle_ranges,
    muscle_limits,
)
