"""Findings: what a rule reports about a plan.

Codes and severities are a public contract (shared/contracts/plan-check.md): a code, once
published, keeps its meaning and severity. New codes may be added.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import IntEnum
from operator import itemgetter
from typing import NamedTuple


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    STOP = 2

    @property
    def label(self) -> str:
        return self.name.lower()


#: Every finding code with its fixed severity. The first block is the contract's minimum set.
CODES: dict[str, Severity] = {
    "SESSION_MAX_EXCEEDED": Severity.STOP,
    "WEIGHT_BASED_MAX_EXCEEDED": Severity.STOP,
    "CUMULATIVE_MAX_EXCEEDED": Severity.STOP,
    "RETREATMENT_TOO_SOON": Severity.STOP,
    "SITE_DOSE_ABOVE_MAX": Severity.STOP,
    "CONTRAINDICATED": Severity.STOP,
    "VIAL_EXPIRED": Severity.STOP,
    "RECONSTITUTED_TOO_LONG": Severity.STOP,
    "MUSCLE_DOSE_ABOVE_RANGE": Severity.WARNING,
    "INDICATION_NOT_LABELLED": Severity.WARNING,
    "AGE_OUTSIDE_LABEL": Severity.WARNING,
    "UNITS_NOT_INTERCHANGEABLE": Severity.WARNING,
    "NEUROMUSCULAR_DISORDER": Severity.WARNING,
    "DRUG_INTERACTION": Severity.WARNING,
    "DYSPHAGIA_RISK": Severity.WARNING,
    "PLAN_EXCEEDS_VIALS": Severity.WARNING,
    "MUSCLE_DOSE_BELOW_RANGE": Severity.INFO,
    # Additions beyond the contract's minimum set.
    "RECONSTITUTION_EXPIRES_TODAY": Severity.WARNING,
    "VIAL_SIZE_NOT_SUPPLIED": Severity.WARNING,
    "PREGNANCY_OR_BREASTFEEDING": Severity.WARNING,
    "SITES_OUTSIDE_RANGE": Severity.INFO,
    "MUSCLE_NOT_IN_LABEL_TABLE": Severity.INFO,
    "DILUTION_NOT_IN_LABEL": Severity.INFO,
    "LIMIT_NOT_AVAILABLE": Severity.INFO,
    "HISTORY_AFTER_PLAN_DATE": Severity.INFO,
    # Added by the record store's use cases (services.cycles), which know the patient's
    # record: planned is not given, and the indication is checked against the conditions.
    "INDICATION_NOT_AMONG_CONDITIONS": Severity.WARNING,
    "UNSIGNED_CYCLE_NOT_COUNTED": Severity.WARNING,
    "CONDITIONS_NOT_RECORDED": Severity.INFO,
    "CYCLE_DATED_IN_FUTURE": Severity.INFO,
    "MEDICATION_NOT_RECOGNISED": Severity.WARNING,
    # A recommended dose or range (not a maximum) exceeded, within every maximum.
    "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE": Severity.WARNING,
    "WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE": Severity.WARNING,
    "SITE_DOSE_ABOVE_RECOMMENDED": Severity.WARNING,
    # A muscle missing from bontrack's incomplete copy of a label's dosing table.
    "MUSCLE_NOT_IN_REFERENCE_TABLE": Severity.INFO,
}

#: The check families LIMIT_NOT_AVAILABLE names (its ``checks``), in report order.
CHECK_FAMILIES: tuple[str, ...] = (
    "session",
    "per_kg",
    "cumulative",
    "interval",
    "per_muscle",
    "per_site",
    "interactions",
    "contraindications",
)
CHECK_FAMILY_NAMES: dict[str, str] = {
    "session": "a maximum dose per session",
    "per_kg": "a weight-based (units per kg) maximum",
    "cumulative": "a cumulative maximum over time",
    "interval": "a minimum retreatment interval",
    "per_muscle": "the dose per muscle (dosing table)",
    "per_site": "the dose per injection site",
    "interactions": "drug interactions",
    "contraindications": "contraindications",
}


class Finding(NamedTuple):
    """One thing a rule found: code (fixed severity), message, value, limit and source.

    A NamedTuple rather than a frozen dataclass: findings are made in the hot loop of the
    plan check, and tuples are the cheapest immutable value Python builds."""

    code: str
    message: str
    value: Decimal | None = None
    limit: Decimal | None = None
    unit: str | None = None
    muscle: str | None = None
    side: str | None = None
    source: str | None = None
    quote: str | None = None
    #: LIMIT_NOT_AVAILABLE: the check families (CHECK_FAMILIES) that could not run.
    checks: tuple[str, ...] = ()
    #: Every muscle a finding concerns (several for a label row shared by muscles).
    muscles: tuple[str, ...] = ()

    @property
    def severity(self) -> Severity:
        return CODES[self.code]


#: The fields of a Finding in order, as ``new_finding`` takes them.
FindingFields = tuple[
    str, str, Decimal | None, Decimal | None, str | None, str | None, str | None, str | None,
    str | None, tuple[str, ...], tuple[str, ...],
]


def new_finding(fields: FindingFields) -> Finding:
    """``Finding(*fields)`` without the Python-level ``__new__`` a NamedTuple runs (about
    half the cost of making one; a check makes a dozen)."""
    return tuple.__new__(Finding, fields)


_code = itemgetter(0)  # a finding's code, at C speed (``verdict`` reads every finding's)


def verdict(findings: Sequence[Finding]) -> str:
    """The highest severity among the findings; ``ok`` where none is above info."""
    top = max(map(CODES.__getitem__, map(_code, findings)), default=Severity.INFO)
    return "ok" if top == Severity.INFO else top.label

