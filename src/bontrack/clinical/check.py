"""Checking a plan: run every rule of the registry and gather the result.

``check_plan(plan, reference, as_of)`` is the one entry point. It never raises for an unsafe
plan: rules report findings, and the caller (CLI, service) decides what a stop means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from bontrack.clinical.context import Context
from bontrack.clinical.dose_rules import DOSE_RULES
from bontrack.clinical.effect_course import EffectCourse, course
from bontrack.clinical.findings import Finding, verdict
from bontrack.clinical.patient_rules import PATIENT_RULES
from bontrack.clinical.plan import Plan
from bontrack.clinical.preparation import Preparation, prepare
from bontrack.clinical.vial_rules import VIAL_RULES
from bontrack.reference.catalogue import Reference
from bontrack.reference.schema import LabelEntry

Rule = Callable[[Context], list[Finding]]


def limits_available(ctx: Context) -> list[Finding]:
    """LIMIT_NOT_AVAILABLE: say plainly which checks could not run for lack of a cited
    number, so that silence is never read as safety."""
    lab = ctx.label
    if lab is None or not lab.labelled:
        return []
    missing = []
    cumulative = [
        c for c in ctx.product.cumulative_limits if c.population in (ctx.population, "any")
    ]
    if lab.session_max_units is None and not lab.weight_based and not cumulative:
        missing.append("a maximum dose per session")
    if lab.retreatment_min_interval is None:
        missing.append("a minimum retreatment interval")
    if not missing:
        return []
    return [
        ctx.finding(
            "LIMIT_NOT_AVAILABLE",
            f"The reference data holds no cited {' or '.join(missing)} for {lab.population} "
            f"{ctx.indication_name()} with {ctx.product_name()}: not checked.",
            None,
        )
    ]


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
        return verdict(list(self.findings))

    @property
    def total_units(self) -> Decimal:
        return self.plan.total_units()


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
    findings.sort(key=lambda f: -f.severity)
    return CheckResult(
        plan=plan,
        day=day,
        age=age,
        population=ctx.population,
        label=label,
        findings=tuple(findings),
        preparation=prep,
        effect=course(day, label if label is not None and label.labelled else None),
        reference_version=ref.version,
    )
