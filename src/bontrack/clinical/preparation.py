"""Preparation arithmetic: concentration, volume per site, vials needed, units discarded.

Dilution mistakes are a known source of overdose, so every figure here is plain arithmetic on
the vial's labelled units and the diluent volume, with no rounding until display. Units
discarded from opened single-dose vials are what US billing reports with the JW modifier
(JZ where nothing is discarded).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from bontrack.clinical.plan import Injection, Plan, Vial
from bontrack.reference.schema import Product

TENTH_ML = Decimal("0.1")


class VialPrep(NamedTuple):
    size_units: Decimal
    diluent_ml: Decimal | None
    units_per_ml: Decimal | None
    lot: str | None
    expiry: str | None
    reconstituted_at: datetime | None
    use_by: datetime | None

    @property
    def units_per_0_1_ml(self) -> Decimal | None:
        return None if self.units_per_ml is None else self.units_per_ml * TENTH_ML


class InjectionPrep(NamedTuple):
    muscle: str
    side: str
    units: Decimal
    sites: int
    units_per_site: Decimal
    ml_per_site: Decimal | None
    ml_total: Decimal | None


class Preparation(NamedTuple):
    vials: tuple[VialPrep, ...]
    units_per_ml: Decimal | None
    per_injection: tuple[InjectionPrep, ...]
    total_units: Decimal
    total_ml: Decimal | None
    capacity_units: Decimal | None
    vials_needed: int | None
    units_discarded: Decimal | None
    suggested_vials: tuple[Decimal, ...]

    @property
    def units_per_0_1_ml(self) -> Decimal | None:
        return None if self.units_per_ml is None else self.units_per_ml * TENTH_ML

    @property
    def billing_modifier(self) -> str | None:
        """JW where opened vials leave units discarded, JZ where none are."""
        if self.units_discarded is None:
            return None
        return "JW" if self.units_discarded > 0 else "JZ"


def concentration(vial: Vial, product: Product) -> Decimal | None:
    """Units per mL in the syringe for this vial, or None where it cannot be known."""
    if product.form == "solution":
        if product.solution_units_per_ml is None:
            return None
        supplied_ml = vial.size_units / product.solution_units_per_ml.value
        added = vial.diluent_ml or Decimal(0)
        return vial.size_units / (supplied_ml + added)
    if vial.diluent_ml is None or vial.diluent_ml <= 0:
        return None
    return vial.size_units / vial.diluent_ml


def use_by(vial: Vial, product: Product) -> datetime | None:
    """When a reconstituted (or diluted) vial must be used by, per the label."""
    limit = product.use_within_hours_after_reconstitution
    if vial.reconstituted_at is None or limit is None:
        return None
    return vial.reconstituted_at + _hours(limit.value)


@lru_cache(maxsize=64)
def _hours(hours: Decimal) -> timedelta:
    """A label's hours as a span of time (per label value: the same few in every check)."""
    return timedelta(hours=float(hours))


def per_site(injections: tuple[Injection, ...], units_per_ml: Decimal | None
             ) -> tuple[tuple[InjectionPrep, ...], Decimal]:
    """Units and volume per site for each injection, and the injections' total units (summed
    from zero in order, as ``Plan.total_units`` does), in one loop: it runs for every
    injection of every check (each made with ``tuple.__new__``: a NamedTuple's own
    ``__new__`` runs in Python)."""
    total = Decimal(0)
    out = []
    for i in injections:
        units = i.units
        ups = units / i.sites
        total = total + units
        out.append(_new(InjectionPrep, (
            i.muscle, i.side, units, i.sites, ups,
            None if units_per_ml is None else ups / units_per_ml,
            None if units_per_ml is None else units / units_per_ml,
        )))
    return tuple(out), total


_new = tuple.__new__


def vials_to_open(total: Decimal, sizes: list[Decimal]) -> tuple[int, Decimal] | None:
    """Open the listed vials in order until the total is covered: (count, units discarded)."""
    acc = Decimal(0)
    for n, size in enumerate(sizes, start=1):
        acc += size
        if acc >= total:
            return n, acc - total
    return None


def suggest_vials(total: Decimal, sizes: list[Decimal]) -> tuple[Decimal, ...]:
    """The combination of supplied vial sizes that covers the total with least waste,
    then fewest vials. Small search: a session never needs more than a few dozen vials."""
    if not sizes or total <= 0:
        return ()
    return _suggested(total, tuple(sizes))


@lru_cache(maxsize=1024)
def _suggested(total: Decimal, sizes: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    """``suggest_vials``' search, kept per total and sizes: the answer is made of the sizes
    and depends on the total's value alone, plans share a few totals (100, 200, 300 U...),
    and the search makes about a hundred calls for a product of three sizes."""
    distinct = sorted(set(sizes), reverse=True)
    best: tuple[Decimal, int, tuple[Decimal, ...]] | None = None
    limit = min(math.ceil(total / min(distinct)), 60)

    def search(i: int, remaining: Decimal, chosen: tuple[Decimal, ...]) -> None:
        nonlocal best
        if remaining <= 0:
            key = (-remaining, len(chosen), chosen)
            if best is None or key[:2] < best[:2]:
                best = key
            return
        if i == len(distinct) or len(chosen) >= limit:
            return
        size = distinct[i]
        most = min(math.ceil(remaining / size), limit - len(chosen))
        for k in range(most, -1, -1):
            search(i + 1, remaining - size * k, chosen + (size,) * k)

    search(0, total, ())
    return best[2] if best else ()


def prepare(plan: Plan, product: Product) -> Preparation:
    """All preparation figures for a plan, from its vials (or a suggestion where none)."""
    vial_preps = tuple([
        _new(VialPrep, (
            v.size_units,
            v.diluent_ml,
            concentration(v, product),
            v.lot,
            v.expiry.isoformat() if v.expiry else None,
            v.reconstituted_at,
            use_by(v, product),
        ))
        for v in plan.vials
    ])
    concentrations = {vp.units_per_ml for vp in vial_preps}
    common = next(iter(concentrations)) if len(concentrations) == 1 else None
    if not vial_preps and product.form == "solution" and product.solution_units_per_ml:
        common = product.solution_units_per_ml.value
    injections, total = per_site(plan.injections, common)
    suggested: tuple[Decimal, ...] = ()
    if vial_preps:
        capacity: Decimal | None = sum((v.size_units for v in plan.vials), Decimal(0))
        opened = vials_to_open(total, [v.size_units for v in plan.vials])
        needed, discarded = opened if opened else (None, None)
    else:
        capacity = None
        suggested = suggest_vials(total, [v.size_units for v in product.vials])
        needed = len(suggested) if suggested else None
        discarded = sum(suggested, Decimal(0)) - total if suggested else None
    return _new(Preparation, (  # in Preparation's field order
        vial_preps,
        common,
        injections,
        total,
        None if common is None else total / common,
        capacity,
        needed,
        discarded,
        suggested,
    ))
