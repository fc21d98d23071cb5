"""Checking a plan: run every rule of the registry and gather the result.

``check_plan(plan, reference, as_of)`` is the one entry point. It never raises for an unsafe
plan: rules report findings, and the caller (CLI, service) decides what a stop means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from bontrack.clinical.context import Context, nothing_kept
from bontrack.clinical.dose_rules import (
    DOSE_RULES,
    applicable_cumulative,
    planned_muscles_not_in_table,
)
from bontrack.clinical.effect_course import EffectCourse, course
from bontrack.clinical.findings import (
    CHECK_FAMILIES,
    CHECK_FAMILY_NAMES,
    CODES,
    Finding,
    verdict,
)
from bontrack.clinical.patient_rules import PATIENT_RULES
from bontrack.clinical.plan import Plan
from bontrack.clinical.preparation import Preparation, prepare
from bontrack.clinical.vial_rules import VIAL_RULES
from bontrack.reference.catalogue import Reference
from bontrack.reference.schema import LabelEntry

Rule = Callable[[Context], list[Finding]]


def checks_not_available(ctx: Context) -> list[str]:
    """The check families (CHECK_FAMILIES) that cannot run for this product, indication,
    age and plan for lack of cited reference data."""
    lab = ctx.label if ctx.label is not None and ctx.label.labelled else None
    cumulative = applicable_cumulative(ctx)
    child = ctx.population == "pediatric"
    missing: list[str] = []
    session = lab is not None and (
        lab.session_max_units is not None
        or any(lim.window is None for lim in cumulative)
        or (child and any(w.scope == "session" for w in lab.weight_based))
    )
    if not session:
        missing.append("session")
    if child and not (
        (lab is not None and lab.weight_based)
        or any(lim.max_units_per_kg is not None for lim in cumulative)
    ):
        missing.append("per_kg")
    if not any(lim.window is not None for lim in cumulative):
        missing.append("cumulative")
    if lab is None or lab.retreatment_min_interval is None:
        missing.append("interval")
    if lab is None or (not lab.muscles and not lab.muscle_limits) or (
        lab.muscles and planned_muscles_not_in_table(ctx)
    ):
        missing.append("per_muscle")
    known_volume = ctx.prep.units_per_0_1_ml is not None
    per_site = lab is not None and (
        lab.per_site_max_units is not None
        or lab.per_site_usual_units is not None
        or (known_volume and (lab.per_site_max_ml or lab.per_site_usual_ml) is not None)
    )
    if not per_site:
        missing.append("per_site")
    if not ctx.product.interactions:
        missing.append("interactions")
    if not any(c.kind == "contraindication" for c in ctx.product.conditions):
        missing.append("contraindications")
    return [c for c in CHECK_FAMILIES if c in missing]


def limits_available(ctx: Context) -> list[Finding]:
    """LIMIT_NOT_AVAILABLE: name every check family that could not run for lack of a cited
    number (``checks``), so that silence is never read as safety."""
    missing, said = _families_not_available(ctx)
    if not missing:
        return []
    lab = ctx.label
    detail = ""
    if "per_muscle" in missing:
        absent = planned_muscles_not_in_table(ctx) if lab is not None and lab.muscles else []
        if absent:
            detail = (
                " Not in bontrack's copy of the table: "
                + ", ".join(ctx.muscle_name(m) for m in absent)
                + "."
            )
    meds = ctx.plan.patient.medications
    if "interactions" in missing and meds:
        detail += f" Medicines not checked for interactions: {', '.join(meds)}."
    return [ctx.finding("LIMIT_NOT_AVAILABLE", f"{said}{detail}", None, checks=missing)]


def _families_not_available(ctx: Context) -> tuple[tuple[str, ...], str]:
    """``checks_not_available`` and LIMIT_NOT_AVAILABLE's message before its details, kept
    per label entry (or product, where none applies): both depend on the plan only through
    its population and indication, whether a planned muscle has no row and whether the
    volume per site is known."""
    lab = ctx.label
    absent = bool(lab is not None and lab.muscles and planned_muscles_not_in_table(ctx))
    key = (ctx.product.id, ctx.population, ctx.plan.indication, absent,
           ctx.prep.units_per_ml is not None)
    kept = ctx.ref.derived("families", ctx.product if lab is None else lab, nothing_kept)
    found = kept.get(key)
    if found is None:
        missing = tuple(checks_not_available(ctx))
        who = f"{lab.population} " if lab is not None else f"{ctx.population} "
        said = (
            f"{len(missing)} check{'s' if len(missing) != 1 else ''} not available for "
            f"{who}{ctx.indication_name()} with {ctx.product_name()} (no cited reference "
            f"data): {'; '.join(CHECK_FAMILY_NAMES[c] for c in missing)}. Not checked, "
            "not passed."
        )
        found = kept[key] = (missing, said)
    return found


#: Every rule, in the order findings are reported.
RULES: tuple[Rule, ...] = (*PATIENT_RULES, *DOSE_RULES, *VIAL_RULES, limits_available)


@dataclass(frozen=True, slots=True)
class CheckResult:
    plan: Plan
    day: date
    age: int
    population: str
    label: LabelEntry | None
    findings: tuple[Finding, ...]
    preparation: Preparation
    effect: EffectCourse
    reference_version: str

    @property
    def verdict(self) -> str:
        return verdict(self.findings)

    @property
    def total_units(self) -> Decimal:
        return self.preparation.total_units

    @property
    def checks_not_available(self) -> tuple[str, ...]:
        """The check families that could not run (LIMIT_NOT_AVAILABLE's ``checks``)."""
        return tuple(c for f in self.findings if f.code == "LIMIT_NOT_AVAILABLE" for c in f.checks)


def _most_severe_first(f: Finding) -> int:
    return -CODES[f.code]


#: How many days' effect courses are kept per label entry (emptied when full).
_COURSES_KEPT = 64


def _course(ref: Reference, day: date, label: LabelEntry | None) -> EffectCourse:
    """``course(day, label)``, kept per label entry and day: a clinic checks its plans for
    the same few days, and the course is a function of the two alone."""
    if label is None:
        return course(day, None)
    kept = ref.derived("effect_course", label, nothing_kept)
    found = kept.get(day)
    if found is None:
        found = course(day, label)
        if len(kept) >= _COURSES_KEPT:
            kept.clear()
        kept[day] = found
    return found


def check_plan(plan: Plan, ref: Reference, as_of: date | None = None) -> CheckResult:
    """Run every rule on ``plan`` for the day ``as_of`` (default: the plan's own date)."""
    if as_of is not None and as_of != plan.date:
        plan = replace(plan, date=as_of)
    day = plan.date
    product = ref.products[plan.product]
    age = plan.patient.age_on(day)
    label = ref.label_for_age(product.id, plan.indication, age)
    prep = prepare(plan, product)
    ctx = Context(plan=plan, ref=ref, product=product, day=day, age=age, label=label, prep=prep)
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(ctx))
    findings.sort(key=_most_severe_first)
    return CheckResult(
        plan=plan,
        day=day,
        age=age,
        population=ctx.population,
        label=label,
        findings=tuple(findings),
        preparation=prep,
        effect=_course(ref, day, label if label is not None and label.labelled else None),
        reference_version=ref.version,
    )
