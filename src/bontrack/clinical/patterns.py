"""Pattern proposals: from posture and pattern templates (reference ``patterns.yaml``) to
injection rows for one product, indication and patient.

A pattern names muscles only. Every dose and number of sites in a proposal is the chosen
product's own label entry for the indication and the patient's age (``products/*.yaml``):
the LOWER end of the label's range for the muscle (units, or units per kg times the weight)
and the UPPER end of its number of sites (the lowest dose per site). A muscle the label entry
gives no range for is listed in ``not_proposed`` with the reason, never given a dose. Units
of different products are never converted: a proposal is for one product.

The proposal is then run through the plan check (``check_plan``) as it stands; any stop the
check finds (e.g. the lower ends of several patterns together above a session maximum) is
returned in ``stops``, so that a proposal is never silently unsafe. Pure: values in, values
out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from bontrack.clinical.check import check_plan
from bontrack.clinical.findings import CODES, Severity
from bontrack.clinical.plan import Injection, Patient, Plan
from bontrack.clinical.units import format_amount
from bontrack.errors import PlanError
from bontrack.reference.catalogue import Reference
from bontrack.reference.schema import LabelEntry, MuscleDose, Pattern, Range, Source

WHERE = "pattern proposal"
SIDE_CHOICES = ("left", "right", "both")
_OTHER = {"left": "right", "right": "left"}


@dataclass(frozen=True, slots=True)
class Citation:
    """A source as shown: the one-line citation and the quoted words."""

    citation: str
    quote: str


@dataclass(frozen=True, slots=True)
class ProposedRow:
    """One proposed injection row: the label's lower bound and its sites, with the range."""

    pattern: str
    muscle: str
    muscle_name: str
    side: str  # left | right | midline
    units: Decimal
    sites: int
    label_range: str  # "25-100 U" or "1.5-3 U/kg (34.5-69 U at 23 kg)"
    label_sites: str | None  # "1-3 sites", None where the row gives none
    note: str | None
    dose_source: Citation
    pattern_source: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class NotProposed:
    """A pattern muscle that got no row, and why (e.g. no label dose for this product)."""

    pattern: str
    muscle: str
    muscle_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class StopFound:
    """A stop finding of the plan check on the proposal as it stands."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Proposal:
    product: str
    indication: str
    age: int
    weight_kg: Decimal | None
    side: str
    population: str | None  # the label entry's population, None: no entry for this age
    rows: tuple[ProposedRow, ...]
    not_proposed: tuple[NotProposed, ...]
    stops: tuple[StopFound, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def total_units(self) -> Decimal:
        return sum((r.units for r in self.rows), Decimal(0))

    def injections(self) -> tuple[Injection, ...]:
        return tuple(Injection(r.muscle, r.side, r.units, r.sites) for r in self.rows)


def patterns_for(ref: Reference, indication: str | None = None) -> list[Pattern]:
    """The patterns, in file order; only those that apply to ``indication`` when given."""
    return [p for p in ref.patterns.values() if indication is None or indication in p.indications]


def _cite(ref: Reference, src: Source) -> Citation:
    return Citation(ref.citation(src.document, src.section), src.quote)


def _amount(x: Decimal) -> str:
    return format_amount(x)


def _range_text(rng: Range, unit: str) -> str:
    lo, hi = rng.min, rng.max
    if lo is not None and hi is not None:
        return f"{_amount(lo)}{unit}" if lo == hi else f"{_amount(lo)}-{_amount(hi)}{unit}"
    if hi is not None:
        return f"up to {_amount(hi)}{unit}"
    assert lo is not None
    return f"at least {_amount(lo)}{unit}"


def _dose(row: MuscleDose, weight: Decimal | None) -> tuple[Decimal, str, Source] | str:
    """The row's lower bound in units, its range as text and its source; or why not."""
    if row.units is not None:
        if row.units.min is None:
            return "the label gives only an upper end for this muscle: no lower bound to propose"
        return row.units.min, _range_text(row.units, " U"), row.units.source
    if row.units_per_kg is not None:
        r = row.units_per_kg
        if weight is None:
            return "the label doses this muscle per kg of body weight: give the weight"
        if r.min is None:
            return "the label gives only an upper end for this muscle: no lower bound to propose"
        low = r.min * weight
        span = _range_text(r, " U/kg")
        at = Range(min=low, max=None if r.max is None else r.max * weight, source=r.source)
        return low, f"{span} ({_range_text(at, ' U')} at {_amount(weight)} kg)", r.source
    return "the label's table gives injection sites but no dose for this muscle"


def _sites(row: MuscleDose) -> tuple[int, str | None]:
    if row.sites is None:
        return 1, None
    s = row.sites
    chosen = s.max if s.max is not None else s.min
    assert chosen is not None
    n = max(int(chosen), 1)
    text = _range_text(s, "")
    return n, f"{text} site" if text == "1" else f"{text} sites"


def _no_row_reason(ref: Reference, product: str, lab: LabelEntry) -> str:
    ind = ref.indications[lab.indication].name.lower()
    base = (f"no label dose for this product: the {product} label entry for {lab.population} "
            f"{ind} has no dosing-table row for this muscle")
    if not lab.muscles:
        return (f"no label dose for this product: bontrack holds no dosing table of the "
                f"{product} label for {lab.population} {ind}")
    if not lab.muscles_complete:
        return base + " (bontrack's copy of the table is incomplete)"
    return base


def _sides(chosen: str, relation: str) -> tuple[str, ...]:
    if chosen == "both":
        return ("left", "right")
    return (chosen,) if relation == "same" else (_OTHER[chosen],)


def _validate(ref: Reference, pattern_ids: Sequence[str], product: str, indication: str,
              age: int, weight: Decimal | None, side: str) -> list[Pattern]:
    if not pattern_ids:
        raise PlanError(WHERE, "patterns", "give at least one pattern id")
    if product not in ref.products:
        raise PlanError(WHERE, "product", f"unknown product {product!r}; known: "
                        f"{', '.join(sorted(ref.products))}")
    if indication not in ref.indications:
        raise PlanError(WHERE, "indication", f"unknown indication {indication!r}")
    if side not in SIDE_CHOICES:
        raise PlanError(WHERE, "side", f"must be one of {', '.join(SIDE_CHOICES)}")
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130:
        raise PlanError(WHERE, "age", "must be whole years from 0 to 130")
    if weight is not None and not Decimal(0) < weight <= Decimal(500):
        raise PlanError(WHERE, "weight_kg", "must be above 0 and at most 500 kg")
    out: list[Pattern] = []
    for i, pid in enumerate(pattern_ids):
        p = ref.patterns.get(pid)
        if p is None:
            raise PlanError(WHERE, f"patterns.{i}", f"unknown pattern {pid!r}; known: "
                            f"{', '.join(ref.patterns)}")
        if indication not in p.indications:
            raise PlanError(WHERE, f"patterns.{i}",
                            f"pattern {pid!r} is for {', '.join(p.indications)}, "
                            f"not {indication}")
        if p not in out:
            out.append(p)
    return out


def propose(ref: Reference, pattern_ids: Sequence[str], product: str, indication: str,
            age: int, weight_kg: Decimal | None, side: str, day: date) -> Proposal:
    """Injection rows for ``pattern_ids`` with ``product`` for ``indication`` and a patient of
    ``age`` years (and ``weight_kg`` for doses per kg), on ``side`` (left, right or both: the
    affected limb, or the side the head turns or tilts to for a neck pattern), checked as a
    plan on ``day`` (the caller's today: the core reads no clock). Raises
    ``PlanError`` naming the field for an unknown pattern, product, indication or side."""
    weight = None if weight_kg is None else Decimal(weight_kg)
    chosen = _validate(ref, pattern_ids, product, indication, age, weight, side)
    lab = ref.label_for_age(product, indication, age)
    rows: list[ProposedRow] = []
    missing: list[NotProposed] = []
    notes: list[str] = []
    seen_muscles: set[str] = set()
    rows_used: dict[int, str] = {}  # id(label row) -> the muscle its dose was proposed on
    table = ref.muscle_rows(lab) if lab is not None else {}
    for p in chosen:
        cites = tuple(_cite(ref, s) for s in p.sources)
        for pm in p.muscles:
            name = ref.muscles[pm.muscle].name
            if pm.muscle in seen_muscles:
                continue  # named by an earlier pattern of the same proposal
            seen_muscles.add(pm.muscle)

            def skip(reason: str, pid: str = p.id, mid: str = pm.muscle, mname: str = name
                     ) -> None:
                missing.append(NotProposed(pid, mid, mname, reason))

            if lab is None:
                skip(f"no label entry of {product} for {indication} at age {age}: no label dose")
                continue
            if not lab.labelled:
                skip(f"the {product} label says {indication} is not established at age "
                     f"{age}: no label dose")
                continue
            row = table.get(pm.muscle)
            if row is None:
                skip(_no_row_reason(ref, product, lab))
                continue
            if id(row) in rows_used:
                other = ref.muscles[rows_used[id(row)]].name
                skip(f"one label row with {other}: the row's dose is proposed on {other} "
                     "(divide it between the two as needed)")
                continue
            dose = _dose(row, weight)
            if isinstance(dose, str):
                skip(dose)
                continue
            rows_used[id(row)] = pm.muscle
            units, range_text, dose_src = dose
            sites, sites_text = _sites(row)
            note_parts = [pm.note] if pm.note else []
            if len(row.row_muscles) > 1:
                names = "/".join(ref.muscles[m].name for m in row.row_muscles)
                note_parts.append(f"one label row for {names} together")
            if sites_text is None:
                note_parts.append("the label's table gives no number of sites: 1 shown, "
                                  "choose as needed")
            paired = ref.muscles[pm.muscle].paired
            if not paired:
                placed = [("midline", units, sites)]
            elif row.both_sides:
                note_parts.append("the label's row is for left and right together: "
                                  "split in half")
                half = units / 2
                left_sites = max((sites + 1) // 2, 1)
                right_sites = max(sites // 2, 1)
                placed = [("left", half, left_sites), ("right", half, right_sites)]
            else:
                placed = [(s, units, sites) for s in _sides(side, pm.side)]
            note = "; ".join(note_parts) or None
            for where, amount, n in placed:
                rows.append(ProposedRow(
                    pattern=p.id, muscle=pm.muscle, muscle_name=name, side=where,
                    units=amount.normalize() if amount != amount.to_integral_value()
                    else amount.quantize(Decimal(1)),
                    sites=n, label_range=range_text, label_sites=sites_text, note=note,
                    dose_source=_cite(ref, dose_src), pattern_source=cites,
                ))
    stops: list[StopFound] = []
    if rows:
        plan = Plan(
            date=day,
            patient=Patient(birth_date=None, age_years=age, weight_kg=weight),
            product=product,
            indication=indication,
            injections=tuple(Injection(r.muscle, r.side, r.units, r.sites) for r in rows),
        )
        result = check_plan(plan, ref)
        stops = [StopFound(f.code, f.message) for f in result.findings
                 if CODES[f.code] is Severity.STOP]
        if stops:
            notes.append("The plan check stops this proposal as it stands: choose fewer "
                         "muscles or one side (the lower ends of the label ranges together "
                         "are above a label maximum).")
    if lab is not None and lab.labelled and rows:
        notes.append("Doses are the lower end of each label range and sites the upper end of "
                     "the label's number of sites; adjust within the range for the patient.")
    return Proposal(
        product=product, indication=indication, age=age, weight_kg=weight, side=side,
        population=None if lab is None else lab.population,
        rows=tuple(rows), not_proposed=tuple(missing), stops=tuple(stops), notes=tuple(notes),
    )


def _cite_doc(c: Citation) -> dict[str, str]:
    return {"citation": c.citation, "quote": c.quote}


def pattern_doc(ref: Reference, p: Pattern) -> dict[str, Any]:
    """A pattern as JSON: muscles with names and sides, sources with citations."""
    return {
        "id": p.id, "name": p.name, "region": p.region, "indications": list(p.indications),
        "side_means": p.side_means,
        "muscles": [{"muscle": m.muscle, "name": ref.muscles[m.muscle].name, "side": m.side,
                     "named_as": m.named_as, "note": m.note} for m in p.muscles],
        "sources": [{"citation": ref.citation(s.document, s.section), "quote": s.quote}
                    for s in p.sources],
    }


def proposal_doc(p: Proposal) -> dict[str, Any]:
    """A proposal as JSON (amounts as text, as the plan check's documents write them)."""
    return {
        "product": p.product, "indication": p.indication, "age_years": p.age,
        "weight_kg": None if p.weight_kg is None else str(p.weight_kg), "side": p.side,
        "population": p.population, "total_units": str(p.total_units),
        "injections": [
            {"pattern": r.pattern, "muscle": r.muscle, "muscle_name": r.muscle_name,
             "side": r.side, "units": str(r.units), "sites": r.sites,
             "label_range": r.label_range, "label_sites": r.label_sites, "note": r.note,
             "dose_source": _cite_doc(r.dose_source),
             "pattern_sources": [_cite_doc(c) for c in r.pattern_source]}
            for r in p.rows],
        "not_proposed": [{"pattern": n.pattern, "muscle": n.muscle,
                          "muscle_name": n.muscle_name, "reason": n.reason}
                         for n in p.not_proposed],
        "stops": [{"code": s.code, "message": s.message} for s in p.stops],
        "notes": list(p.notes),
    }
