"""Dose rules: session, weight-based, cumulative, retreatment, per-site and per-muscle limits.

Each rule is a pure function of the ``Context`` that returns findings; none raises for an
unsafe plan. Numbers come only from the reference data; each finding carries the limit, the
value and the label section. Units are only ever summed within one product.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from bontrack.clinical.calendar import after, before
from bontrack.clinical.context import Context, u
from bontrack.clinical.findings import Finding, new_finding
from bontrack.clinical.preparation import InjectionPrep
from bontrack.clinical.units import Units, format_amount, total
from bontrack.reference.catalogue import Reference
from bontrack.reference.schema import (
    Cited,
    CitedValue,
    CumulativeLimit,
    Interval,
    LabelEntry,
    MuscleDose,
    WeightBasedLimit,
)

_ZERO = Decimal(0)  # sums start from it, as sum() does: 0 + 1E+2 is 100
_new = tuple.__new__  # a NamedTuple made at C speed (its own __new__ runs in Python)
LIMB_OF_REGION = {"upper_limb": "upper limb", "shoulder": "upper limb", "lower_limb": "lower limb"}


def session_max(ctx: Context) -> list[Finding]:
    """SESSION_MAX_EXCEEDED: the plan's total units above the label's maximum per treatment
    session for this indication and population (``session_max_units``)."""
    lab = ctx.label
    if lab is None or lab.session_max_units is None:
        return []
    limit = lab.session_max_units
    t = ctx.total
    if t <= limit.value:
        return []
    return [
        ctx.finding(
            "SESSION_MAX_EXCEEDED",
            f"Total {u(t)} is above the labelled maximum of {u(limit.value)} per treatment "
            f"for {lab.population} {ctx.indication_name()} with {ctx.product_name()}."
            + max_note(limit),
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
            t = ctx.total
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


def applicable_cumulative(ctx: Context) -> tuple[CumulativeLimit, ...]:
    """The product's cumulative limits for this patient's population and this indication
    (chosen once, when the context is built)."""
    return ctx.cumulative


def _cumulative_cap(lim: CumulativeLimit, weight: Decimal | None) -> tuple[Decimal, bool] | None:
    """The limit's cap for this weight: the lower of ``max_units`` and ``max_units_per_kg``
    x weight (``max_units`` where they are equal), and whether it is the weight-based one."""
    units = lim.max_units
    if lim.max_units_per_kg is None or weight is None:
        return None if units is None else (units, False)
    by_weight = lim.max_units_per_kg * weight
    if units is None or by_weight < units:
        return by_weight, True
    return units, False


def _cap_text(lim: CumulativeLimit, weight: Decimal | None, by_weight: bool) -> str:
    """How a finding words ``_cumulative_cap``'s cap: '400 U' or '6 U/kg x 20 kg'."""
    if by_weight:
        assert lim.max_units_per_kg is not None and weight is not None
        return f"{format_amount(lim.max_units_per_kg)} U/kg x {format_amount(weight)} kg"
    assert lim.max_units is not None
    return u(lim.max_units)


def _own_session_cap(ctx: Context) -> Decimal | None:
    """The label entry's own lowest maximum for the plan's total (session or weight-based)."""
    lab = ctx.label
    if lab is None:
        return None
    caps = [lab.session_max_units.value] if lab.session_max_units is not None else []
    if ctx.weight is not None:
        caps += [_weight_cap(w, ctx.weight) for w in lab.weight_based if w.scope == "session"]
    return min(caps, default=None)


def session_hard_cap(ctx: Context) -> Decimal | None:
    """The lowest maximum on the plan's total: the entry's own session and weight-based
    session limits and the product's per-session limits for this indication."""
    caps = [c for c in (_own_session_cap(ctx),) if c is not None]
    for lim in applicable_cumulative(ctx):
        if lim.window is None:
            capped = _cumulative_cap(lim, ctx.weight)
            if capped is not None:
                caps.append(capped[0])
    return min(caps, default=None)


def cumulative_max(ctx: Context) -> list[Finding]:
    """CUMULATIVE_MAX_EXCEEDED: this plan plus the same product's units given within the
    label's window (for the indications the limit names, or any), above the cumulative
    limit. A window-less limit is per treatment session: other treatments recorded on the
    plan's day count; where the plan alone is above it, that is SESSION_MAX_EXCEEDED.
    Other products' units are never added (see UNITS_NOT_INTERCHANGEABLE)."""
    out: list[Finding] = []
    pid = ctx.product.id
    for lim in applicable_cumulative(ctx):
        capped = _cumulative_cap(lim, ctx.weight)
        if capped is None:
            continue
        cap, by_weight = capped
        if lim.window is None:
            earlier = [
                h
                for h in ctx.history
                if h.product == pid and h.date == ctx.day and lim.applies_to(h.indication)
            ]
        else:
            start = before(ctx.day, lim.window)
            earlier = [
                h
                for h in ctx.history
                if h.product == pid and h.date > start and lim.applies_to(h.indication)
            ]
        plan_units = ctx.total
        # Summed from zero as ``total`` does; only the same product's units are ever added.
        amount = (
            _ZERO + plan_units if not earlier
            else total(pid, [Units(pid, plan_units)] + [Units(pid, h.total_units) for h in earlier]
                       ).amount
        )
        if amount <= cap:
            continue
        cap_text = _cap_text(lim, ctx.weight, by_weight)
        scope = (
            "any indication"
            if not lim.indications
            else " + ".join(ctx.ref.indications[i].name.lower() for i in lim.indications)
        )
        if lim.window is None and plan_units > cap:
            own = _own_session_cap(ctx)
            if own is not None and own <= cap:
                continue  # already reported by the entry's own session limit (same or lower)
            out.append(
                ctx.finding(
                    "SESSION_MAX_EXCEEDED",
                    f"Total {u(plan_units)} is above the labelled maximum of {u(cap)} "
                    f"({cap_text}) per treatment session for {scope} with "
                    f"{ctx.product_name()}." + max_note(lim),
                    lim.source,
                    value=plan_units,
                    limit=cap,
                    unit="U",
                )
            )
            continue
        given = (
            ", ".join(
                f"{u(h.total_units)} on {h.date} ({ctx.ref.indications[h.indication].name.lower()})"
                for h in earlier
            )
            or "none"
        )
        out.append(
            ctx.finding(
                "CUMULATIVE_MAX_EXCEEDED",
                f"{u(amount)} of {ctx.product_name()} for {scope} within "
                f"{lim.describe_window()} (this plan {u(plan_units)}; earlier: {given}) is "
                f"above the cumulative maximum of {u(cap)} ({cap_text}) for "
                f"{lim.population if lim.population != 'any' else 'all'} patients."
                + max_note(lim),
                lim.source,
                value=amount,
                limit=cap,
                unit="U",
            )
        )
    return out


def recommended_dose(ctx: Context) -> list[Finding]:
    """SESSION_DOSE_ABOVE_RECOMMENDED_RANGE / WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE: the
    plan's total above the label's recommended dose or range (``usual_units``,
    ``usual_weight_based``). A recommended range is not a maximum: this is a warning; the
    maxima (session, weight-based, cumulative) are separate stop rules."""
    lab = ctx.label
    if lab is None or not lab.labelled:
        return []
    out: list[Finding] = []
    t = ctx.total
    rng = lab.usual_units
    hard = session_hard_cap(ctx)
    above_max = hard is not None and t > hard  # the stop says more than the range warning
    if rng is not None and rng.max is not None and t > rng.max and not above_max:
        out.append(
            ctx.finding(
                "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE",
                f"Total {u(t)} is above the label's recommended "
                f"{_range_text(rng.min, rng.max)} per session for {lab.population} "
                f"{ctx.indication_name()} with {ctx.product_name()} (a recommended range, "
                "not a maximum).",
                rng.source,
                value=t,
                limit=rng.max,
                unit="U",
            )
        )
    if ctx.weight is not None:
        for rule in lab.usual_weight_based:
            cap = _weight_cap(rule, ctx.weight)
            how = (
                f"{format_amount(rule.max_units_per_kg)} U/kg x {format_amount(ctx.weight)} kg"
                + (f" or {u(rule.cap_units)}, whichever is lower" if rule.cap_units else "")
            )
            groups = (
                [(None, None, t)]
                if rule.scope == "session"
                else [(limb, side, v) for (limb, side), v in sorted(limb_totals(ctx).items())]
            )
            for limb, side, units in groups:
                if units <= cap:
                    continue
                where = "Total" if limb is None else f"The {side} {limb}:"
                out.append(
                    ctx.finding(
                        "WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE",
                        f"{where} {u(units)} is above the label's recommended dose of "
                        f"{u(cap)} ({how}; a recommended dose, not a maximum).",
                        rule.source,
                        value=units,
                        limit=cap,
                        unit="U",
                        side=side,
                    )
                )
    return out


def retreatment_interval(ctx: Context) -> list[Finding]:
    """RETREATMENT_TOO_SOON: the last botulinum toxin treatment for the same indication, with
    any product, is closer than the label's minimum retreatment interval; and likewise for
    each interval the label counts from other indications (``retreatment_after_other``)."""
    lab = ctx.label
    if lab is None:
        return []
    out: list[Finding] = []
    if lab.retreatment_min_interval is not None:
        out += _too_soon(ctx, {ctx.plan.indication, *lab.retreatment_also_after},
                         lab.retreatment_min_interval)
    for other in lab.retreatment_after_other:
        out += _too_soon(ctx, set(other.after), other)
    return out


def _too_soon(ctx: Context, counted: set[str], interval: Interval) -> list[Finding]:
    same = [h for h in ctx.history if h.indication in counted]
    if not same:
        return []
    last = max(same, key=lambda h: h.date)
    earliest = after(last.date, interval)
    if ctx.day >= earliest:
        return []
    gap = (ctx.day - last.date).days
    needed = (earliest - last.date).days
    other = "" if last.product == ctx.product.id else f" (with {ctx.product_name(last.product)})"
    return [
        ctx.finding(
            "RETREATMENT_TOO_SOON",
            f"The last treatment for {ctx.ref.indications[last.indication].name.lower()} was on "
            f"{last.date}{other}, "
            f"{gap} days ago; the label asks for at least "
            f"{interval.describe()} ({needed} days): earliest {earliest}.",
            interval.source,
            value=gap,
            limit=needed,
            unit="days",
        )
    ]


def max_note(cited: Cited) -> str:
    """Where a maximum's own quote gives a recommended dose, the label sentence that makes it
    a maximum, for the finding's message."""
    ms = cited.maximum_source
    return "" if ms is None else f' The label: "{ms.quote}"'


def site_dose(ctx: Context) -> list[Finding]:
    """SITE_DOSE_ABOVE_MAX (stop): units (``per_site_max_units``) or volume
    (``per_site_max_ml``) per injection site above the label's maximum per site.
    SITE_DOSE_ABOVE_RECOMMENDED (warning): above the label's recommended dose or volume per
    site (``per_site_usual_units``, ``per_site_usual_ml``), which is not a maximum."""
    lab = ctx.label
    if lab is None:
        return []
    limits = [
        lim
        for lim in (
            ("SITE_DOSE_ABOVE_MAX", "U", lab.per_site_max_units, "maximum"),
            ("SITE_DOSE_ABOVE_MAX", "mL", lab.per_site_max_ml, "maximum"),
            ("SITE_DOSE_ABOVE_RECOMMENDED", "U", lab.per_site_usual_units, "recommended dose"),
            ("SITE_DOSE_ABOVE_RECOMMENDED", "mL", lab.per_site_usual_ml, "recommended volume"),
        )
        if lim[2] is not None
    ]
    out: list[Finding] = []
    if not limits:
        return out
    for ip in ctx.prep.per_injection:
        for code, unit, lim, what in limits:
            assert lim is not None
            if unit == "U":
                value: Decimal | None = ip.units_per_site
            else:
                value = None if ip.ml_per_site is None else round(ip.ml_per_site, 3)
            if value is None or value <= lim.value:
                continue
            out.append(_site_finding(ctx, ip, code, unit, lim, what, value))
    return out


def _site_finding(ctx: Context, ip: InjectionPrep, code: str, unit: str, lim: CitedValue,
                  what: str, value: Decimal) -> Finding:
    """One site-dose finding (its message is only built for a dose above the limit)."""
    if unit == "U":
        shown = f"{u(ip.units_per_site)} per site ({u(ip.units)} over {ip.sites} sites)"
        limit_text = u(lim.value)
    else:
        shown = f"{format_amount(value)} mL per site"
        limit_text = f"{format_amount(lim.value)} mL"
    not_max = "" if code == "SITE_DOSE_ABOVE_MAX" else " (not a maximum)"
    return ctx.finding(
        code,
        f"{ctx.muscle_name(ip.muscle)} ({ip.side}): {shown} is above the labelled {what} of "
        f"{limit_text} per site{not_max}.{max_note(lim)}",
        lim.source,
        value=value,
        limit=lim.value,
        unit=unit,
        muscle=ip.muscle,
        side=ip.side,
    )


def _muscle_sums(ctx: Context) -> dict[tuple[str, str], list[Any]]:
    """Units and sites per (muscle, side), in the order the plan first names them: [units,
    sites], units summed from zero as ``sum`` does."""
    sums: dict[tuple[str, str], list[Any]] = {}
    for inj in ctx.plan.injections:
        key = (inj.muscle, inj.side)
        had = sums.get(key)
        if had is None:
            sums[key] = [_ZERO + inj.units, inj.sites]
        else:
            had[0] += inj.units
            had[1] += inj.sites
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


def planned_muscles_not_in_table(ctx: Context) -> list[str]:
    """Planned muscles the label entry's dosing table (as bontrack holds it) has no row for
    (found once per check: the check families and their message both ask)."""
    if ctx.absent is None:
        rows = ctx.rows
        ctx.absent = sorted({i.muscle for i in ctx.plan.injections if i.muscle not in rows})
    return list(ctx.absent)


def _names(ctx: Context, muscles: Iterable[str]) -> str:
    names = [ctx.muscle_name(m) for m in muscles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class _Group(NamedTuple):
    """The planned units and sites that one label row (or one muscle without a row) is
    compared with: per side, or ``side`` "both" where the row is for both sides together."""

    head: str
    side: str
    units: Decimal
    sites: int
    muscles: tuple[str, ...]  # the planned muscles of the row, in the row's order
    row: MuscleDose | None

    @property
    def side_out(self) -> str | None:
        return None if self.side == "both" else self.side

    def where(self, ctx: Context) -> str:
        """'Biceps brachii (left)': the muscles as a finding names them."""
        return _names(ctx, self.muscles) + ("" if self.side == "both" else f" ({self.side})")


#: One group of ``_muscle_groups``: ((head, side), [units, sites, planned muscles, row]);
#: the planned muscles and the row are None for a muscle without a row.
_GroupSums = tuple[tuple[str, str], list[Any]]


def _muscle_groups(ctx: Context) -> list[_GroupSums]:
    """The plan's muscles grouped by label row and side, in (row, side) order. Muscles that
    share one row are summed, both sides together where the row says so. The dict's own
    items, sorted (the keys are distinct): a group is made for every planned muscle of
    every check."""
    rows = ctx.rows
    # group key: (the row's first muscle, or the muscle itself when it has no row; side)
    groups: dict[tuple[str, str], list[Any]] = {}
    for key, (units, sites) in _muscle_sums(ctx).items():
        row = rows.get(key[0])
        if row is None:  # a muscle's own group: the sums hold each (muscle, side) once
            groups[key] = [units, sites, None, None]
            continue
        head = (row.muscle, "both" if row.both_sides else key[1])
        had = groups.get(head)
        if had is None:
            groups[head] = [units, sites, {key[0]}, row]
        else:
            had[0] = had[0] + units
            had[1] += sites
            had[2].add(key[0])
    return sorted(groups.items())


class _NotInTable(NamedTuple):
    """A label entry's finding for a planned muscle its dosing table has no row for, but for
    the muscle: the code, the message after the muscle's name and side, and the source."""

    code: str
    tail: str
    source: str
    quote: str
    #: Each (muscle, side)'s whole message, once written (a few hundred at most).
    messages: dict[tuple[str, str], str]


def _not_in_table(ref: Reference, lab: LabelEntry) -> _NotInTable:
    """MUSCLE_NOT_IN_LABEL_TABLE where bontrack holds the label's whole table,
    MUSCLE_NOT_IN_REFERENCE_TABLE where its copy is incomplete, but for the muscle (built
    once per entry: nothing in it depends on the plan)."""
    indication = ref.indications[lab.indication].name.lower()
    src = lab.muscles[0].source
    citation = ref.citation(src.document, src.section)
    if lab.muscles_complete:
        return _NotInTable(
            "MUSCLE_NOT_IN_LABEL_TABLE",
            f" is not in the label's dosing table for {indication}: no labelled range to "
            "compare with.",
            citation,
            src.quote,
            {},
        )
    return _NotInTable(
        "MUSCLE_NOT_IN_REFERENCE_TABLE",
        f" is not in bontrack's copy of the table (the label's dosing table for {indication}; "
        f"the copy is incomplete, {len(ref.muscle_rows(lab))} muscles): its dose is not "
        "checked against a labelled range. This does not mean the label leaves it out.",
        citation,
        src.quote,
        {},
    )


def _shared(ctx: Context, row: MuscleDose) -> str:
    """' (one label row for A and B together)' where the row names several muscles."""
    return _shared_in(ctx.ref, row)


def _shared_in(ref: Reference, row: MuscleDose) -> str:
    if len(row.row_muscles) == 1:
        return ""
    names = [ref.muscles[m].name for m in row.row_muscles]
    return f" (one label row for {', '.join(names[:-1])} and {names[-1]} together)"


def _units_in_range(units: Decimal, low: Decimal | None, high: Decimal | None) -> bool:
    """Whether a group's units are within its row's range ``low``-``high`` (each bound
    included; None: no bound)."""
    return (high is None or units <= high) and (low is None or units >= low)


def _sites_in_range(sites: int, row: MuscleDose) -> bool:
    """Whether a group's injection sites are within its row's number of sites (each bound
    included; a row without one: within)."""
    rs = row.sites
    return rs is None or ((rs.max is None or sites <= rs.max)
                          and (rs.min is None or sites >= rs.min))


def _dose_finding(ctx: Context, g: _Group, row: MuscleDose, low: Decimal | None,
                  high: Decimal | None) -> Finding | None:
    """MUSCLE_DOSE_ABOVE_RANGE / MUSCLE_DOSE_BELOW_RANGE: the group's units against the row's
    range ``low``-``high`` (``_row_range``: units, or units per kg times the weight)."""
    if _units_in_range(g.units, low, high):
        return None
    if high is not None and g.units > high:
        code, limit, word = "MUSCLE_DOSE_ABOVE_RANGE", high, "above"
    else:
        assert low is not None
        code, limit, word = "MUSCLE_DOSE_BELOW_RANGE", low, "below"
    if row.units is not None:  # a range in units: its words are the row's own
        range_words = ctx.ref.derived("range_words", row, _units_range_words)
    else:
        range_words = _range_words(ctx.ref, row, low, high)
    return ctx.finding(
        code,
        f"{g.where(ctx)}: {u(g.units)} is {word} the labelled range {range_words}",
        (row.units or row.units_per_kg or row).source,
        value=g.units,
        limit=limit,
        unit="U",
        muscle=g.muscles[0],
        side=g.side_out,
        muscles=g.muscles,
    )


def _range_words(ref: Reference, row: MuscleDose, low: Decimal | None, high: Decimal | None
                 ) -> str:
    """'45-75 U for this muscle.': a dose finding's words after "the labelled range"."""
    return f"{_range_text(low, high)}{_shared_in(ref, row) or ' for this muscle'}."


def _units_range_words(ref: Reference, row: MuscleDose) -> str:
    """``_range_words`` of a row whose range is in units (built once per row)."""
    assert row.units is not None
    return _range_words(ref, row, row.units.min, row.units.max)


def _sites_finding(ctx: Context, g: _Group, row: MuscleDose) -> Finding | None:
    """SITES_OUTSIDE_RANGE: the group's injection sites outside the row's number of sites."""
    if row.sites is None or _sites_in_range(g.sites, row):
        return None
    smin, smax = row.sites.min, row.sites.max
    above = smax is not None and g.sites > smax
    return ctx.finding(
        "SITES_OUTSIDE_RANGE",
        f"{g.where(ctx)}: {g.sites} injection sites; the label's table gives "
        f"{_range_text(smin, smax, unit='')} sites{_shared(ctx, row)}.",
        row.sites.source,
        value=g.sites,
        limit=smax if above else smin,
        unit="sites",
        muscle=g.muscles[0],
        side=g.side_out,
        muscles=g.muscles,
    )


def muscle_ranges(ctx: Context) -> list[Finding]:
    """MUSCLE_DOSE_ABOVE_RANGE / MUSCLE_DOSE_BELOW_RANGE / SITES_OUTSIDE_RANGE /
    MUSCLE_NOT_IN_LABEL_TABLE / MUSCLE_NOT_IN_REFERENCE_TABLE: each muscle's units and sites
    against the label's dosing table (per side, or both sides together where the table says
    so). Muscles that share one label row are summed and compared with the row once. A muscle
    with no row is "not in the label's table" only where bontrack holds the whole table;
    otherwise it is "not in bontrack's copy of the table". Messages are built only for the
    findings made."""
    lab = ctx.label
    if lab is None or not lab.muscles:
        return []
    out: list[Finding] = []
    missing: _NotInTable | None = None
    weight = ctx.weight
    for (head, side), (units, sites, planned, row) in _muscle_groups(ctx):
        if row is None or planned is None:
            if missing is None:
                missing = ctx.ref.derived("not_in_table", lab, _not_in_table)
            message = missing.messages.get((head, side))
            if message is None:
                message = f"{ctx.muscle_name(head)} ({side}){missing.tail}"
                missing.messages[(head, side)] = message
            out.append(new_finding((
                missing.code, message, units, None, "U", head, side, missing.source,
                missing.quote, (), (head,),
            )))
            continue
        # Most groups are within their row's ranges: nothing is built for them.
        low, high = _row_range(row, weight)
        if _units_in_range(units, low, high) and _sites_in_range(sites, row):
            continue
        in_order = (
            (head,) if not row.together_with
            else tuple(m for m in row.row_muscles if m in planned)
        )
        g = _new(_Group, (head, side, units, sites, in_order, row))
        for found in (_dose_finding(ctx, g, row, low, high), _sites_finding(ctx, g, row)):
            if found is not None:
                out.append(found)
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
    recommended_dose,
    retreatment_interval,
    site_dose,
    muscle_ranges,
    muscle_limits,
)
