"""What every rule sees: the plan, the reference data, the day, and what follows from them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from bontrack.clinical.display import computed_units_text
from bontrack.clinical.findings import Finding, new_finding
from bontrack.clinical.plan import PastTreatment, Plan
from bontrack.clinical.preparation import Preparation
from bontrack.reference.catalogue import Reference
from bontrack.reference.schema import CumulativeLimit, LabelEntry, MuscleDose, Product, Source

ADULT_AGE = 18


class Context:
    """Built once per check; rules only read it."""

    __slots__ = ("_indication", "absent", "age", "cumulative", "day", "history", "label",
                 "plan", "population", "prep", "product", "ref", "rows", "total", "weight")

    def __init__(
        self,
        plan: Plan,
        ref: Reference,
        product: Product,
        day: date,
        age: int,
        label: LabelEntry | None,
        prep: Preparation,
    ) -> None:
        self.plan = plan
        self.ref = ref
        self.product = product
        self.day = day
        self.age = age
        self.label = label
        self.prep = prep
        #: Earlier treatments up to and including the plan's day (later ones are ignored).
        self.history: tuple[PastTreatment, ...] = tuple([h for h in plan.history if h.date <= day])
        self._indication = ref.indications[plan.indication].name.lower()
        self.population = "adult" if age >= ADULT_AGE else "pediatric"
        self.weight: Decimal | None = plan.patient.weight_kg
        #: The plan's total units, summed once (the preparation's) for every rule.
        self.total: Decimal = prep.total_units
        #: The product's cumulative limits for this population and indication (chosen once
        #: per product, population and indication).
        chosen = ref.derived("cumulative", product, nothing_kept)
        key = (self.population, plan.indication)
        cumulative = chosen.get(key)
        if cumulative is None:
            cumulative = chosen[key] = tuple(
                lim
                for lim in product.cumulative_limits
                if lim.population in (self.population, "any") and lim.applies_to(plan.indication)
            )
        self.cumulative: tuple[CumulativeLimit, ...] = cumulative
        #: The label entry's dosing table by muscle (precomputed by the reference).
        self.rows: Mapping[str, MuscleDose] = ref.muscle_rows(label) if label is not None else {}
        #: The planned muscles without a row in ``rows``, once asked for (dose_rules).
        self.absent: list[str] | None = None

    @property
    def moment(self) -> datetime | None:
        """When the injections are given, where the plan says the time."""
        return datetime.combine(self.day, self.plan.time) if self.plan.time else None

    def day_bounds(self) -> tuple[datetime, datetime]:
        return datetime.combine(self.day, time.min), datetime.combine(self.day, time.max)

    def product_name(self, product_id: str | None = None) -> str:
        p = self.ref.products[product_id or self.product.id]
        return f"{p.id} ({p.brands[0]})"

    def indication_name(self) -> str:
        return self._indication

    def muscle_name(self, muscle_id: str) -> str:
        return self.ref.muscles[muscle_id].name

    def finding(
        self,
        code: str,
        message: str,
        source: Source | None,
        *,
        value: Decimal | int | None = None,
        limit: Decimal | int | None = None,
        unit: str | None = None,
        muscle: str | None = None,
        side: str | None = None,
        checks: tuple[str, ...] = (),
        muscles: tuple[str, ...] = (),
    ) -> Finding:
        return new_finding((  # this runs for every finding of every check
            code,
            message,
            value if value is None or type(value) is Decimal else Decimal(value),
            limit if limit is None or type(limit) is Decimal else Decimal(limit),
            unit,
            muscle,
            side,
            self.ref.citation(source.document, source.section) if source else None,
            source.quote if source else None,
            checks,
            muscles or ((muscle,) if muscle else ()),
        ))


def nothing_kept(ref: Reference, of: object) -> dict[Any, Any]:
    """An empty dict for ``Reference.derived``: the answers kept for one reference value
    (a product, a label entry), filled as checks ask."""
    return {}


@lru_cache(maxsize=4096, typed=True)
def u(amount: Decimal) -> str:
    """'400 U' for messages; a computed amount (units per site) to 0.1 U. Kept per value:
    the text depends on the value alone (``computed_units_text`` normalises it first), and
    the same few amounts recur in every check."""
    return f"{computed_units_text(amount)} U"
