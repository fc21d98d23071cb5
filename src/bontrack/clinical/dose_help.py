"""Dose help for one muscle, where the clinician clicks it on the body map (issue 17).

For one product, indication, patient (age, weight) and muscle, gathered from values:

- **the label**: the range the product's own label entry gives this muscle for the
  indication and the patient's age (units, or units per kg with the units at this weight),
  the label's number of sites, the source with its quoted words, and the label's maximum for
  the session and for the muscle where the entry has one. The range and sites are read as the
  pattern proposals read them (``clinical.patterns``: one reading of a label row). Where the
  label entry gives no range for the muscle, the help says so in words ("the label gives no
  range for this muscle; not checked"): silence is never safety.
- **the patient's last doses** in the muscle: date, side, units, sites and the response that
  followed (the outcome series on this muscle, else the whole-patient series, as computed by
  ``clinical.response``). Doses of the chosen product come first; doses of other products are
  listed apart, labelled with their product, never converted: units of different products
  are not interchangeable.
- **the clinic's median** for the muscle: the units per side per cycle in the clinic's own
  signed records of this product, indication and label population. Shown only from
  ``MIN_CLINIC_RECORDS`` records of ``MIN_CLINIC_PATIENTS`` patients; below that the help says
  "fewer than 5 records" and no number. Those two numbers are DISPLAY rules of this clinic
  (when a median is worth showing), not clinical rules: they bound no dose.

Pure: values in, values out; the caller (``analytics.dose_help``) reads the store and the
clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any

from bontrack.clinical.patterns import _no_row_reason, _range_text, _sites
from bontrack.clinical.units import format_amount
from bontrack.errors import PlanError
from bontrack.reference.catalogue import Reference
from bontrack.reference.schema import LabelEntry, MuscleDose, Range, Source

WHERE = "dose help"
SIDES = ("left", "right", "midline")

#: Display rule (not a clinical rule): a clinic median is shown only from this many records
#: (one record: the units one patient's cycle gave the muscle on one side) ...
MIN_CLINIC_RECORDS = 5
#: ... of at least this many patients, so that the "clinic's median" is not one patient's.
MIN_CLINIC_PATIENTS = 3
#: The patient's last doses shown per product (most recent first).
LAST_DOSES = 5

NOT_CHECKED = "the label gives no range for this muscle; not checked"
#: Where bontrack's copy of the label's table is incomplete it never says "not in the label".
NOT_HELD = "bontrack holds no label range for this muscle; not checked"


@dataclass(frozen=True, slots=True)
class ResponseSeen:
    """One outcome series' response to one cycle (from ``clinical.response``)."""

    scale: str  # the scale's name as shown
    muscle: str | None  # the series' muscle (None: a whole-patient scale)
    side: str | None
    baseline: Decimal | None
    best: Decimal | None
    responder: bool | None
    duration_days: int | None
    duration_kind: str  # measured | diary | at_least | no_benefit | unknown
    unknown_reason: str = ""


@dataclass(frozen=True, slots=True)
class PastDose:
    """The units one of the patient's given cycles put in this muscle on one side."""

    day: date
    product: str
    indication: str
    side: str
    units: Decimal
    sites: int
    responses: tuple[ResponseSeen, ...] = ()


@dataclass(frozen=True, slots=True)
class ClinicDose:
    """One record of the clinic: a patient's cycle's units in this muscle on one side."""

    patient: int
    product: str
    units: Decimal


@dataclass(frozen=True, slots=True)
class LabelHelp:
    """What the label says for the muscle; ``range_text`` None means no range (``reason``)."""

    population: str | None
    range_text: str | None  # "60-200 U" or "1.5-3 U/kg (36-72 U at 24 kg)"
    units_min: Decimal | None  # in units, at this weight for a range per kg
    units_max: Decimal | None
    per_kg: bool
    sites_text: str | None
    reason: str | None  # why there is no range; NOT_CHECKED words included
    maxima: tuple[str, ...]  # the label's maxima that bound this muscle's dose
    notes: tuple[str, ...]
    citation: str | None
    quote: str | None


@dataclass(frozen=True, slots=True)
class ShownDose:
    day: date
    product: str
    product_name: str  # "Botox (onabotulinumtoxinA)"
    indication: str
    side: str
    units: Decimal
    sites: int
    this_side: bool
    response: str


@dataclass(frozen=True, slots=True)
class ClinicMedian:
    product: str
    records: int
    patients: int
    median_units: Decimal | None  # None: too few records (``text`` says so)
    text: str


@dataclass(frozen=True, slots=True)
class DoseHelp:
    product: str
    product_name: str
    brands: tuple[str, ...]
    indication: str
    indication_name: str
    muscle: str
    muscle_name: str
    side: str | None
    age_years: int
    weight_kg: Decimal | None
    label: LabelHelp
    history: tuple[ShownDose, ...]  # this product, most recent first
    other_products: tuple[ShownDose, ...]  # other products, labelled, never converted
    clinic: ClinicMedian
    notes: tuple[str, ...] = field(default=())


def product_name(ref: Reference, product: str) -> str:
    """Brand and generic name as clinician views show them: "Botox (onabotulinumtoxinA)"."""
    p = ref.products.get(product)
    return product if p is None else f"{p.brands[0]} ({p.id})"


def _validate(ref: Reference, product: str, indication: str, muscle: str, side: str | None,
              age: int, weight: Decimal | None) -> None:
    if product not in ref.products:
        raise PlanError(WHERE, "product", f"unknown product {product!r}; known: "
                        f"{', '.join(sorted(ref.products))}")
    if indication not in ref.indications:
        raise PlanError(WHERE, "indication", f"unknown indication {indication!r}")
    if muscle not in ref.muscles:
        raise PlanError(WHERE, "muscle", f"unknown muscle {muscle!r}")
    if side is not None and side not in SIDES:
        raise PlanError(WHERE, "side", f"must be one of {', '.join(SIDES)}")
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130:
        raise PlanError(WHERE, "age", "must be whole years from 0 to 130")
    if weight is not None and not Decimal(0) < weight <= Decimal(500):
        raise PlanError(WHERE, "weight_kg", "must be above 0 and at most 500 kg")


def _cite(ref: Reference, src: Source) -> tuple[str, str]:
    return ref.citation(src.document, src.section), src.quote


def _u(x: Decimal) -> str:
    return f"{format_amount(x)} U"


def _maxima(ref: Reference, lab: LabelEntry, muscle: str, weight: Decimal | None
            ) -> list[str]:
    """The label entry's maxima that bound a dose in this muscle: the session's, the per-kg
    ones (with the units at this weight, whichever is lower) and the muscle's own."""
    out: list[str] = []
    if lab.session_max_units is not None:
        out.append(f"session maximum {_u(lab.session_max_units.value)}")
    for w in lab.weight_based:
        scope = "session" if w.scope == "session" else "per limb"
        text = f"{scope} maximum {format_amount(w.max_units_per_kg)} U/kg"
        if w.cap_units is not None:
            text += f" or {_u(w.cap_units)}, whichever is lower"
        if weight is not None:
            at = w.max_units_per_kg * weight
            if w.cap_units is not None:
                at = min(at, w.cap_units)
            text += f": {_u(at)} at {format_amount(weight)} kg"
        else:
            text += " (give the weight for the units)"
        out.append(text)
    for m in lab.muscle_limits:
        if m.muscle == muscle:
            where = "per side" if m.per_side else "both sides together"
            out.append(f"at most {_u(m.max_units)} in {ref.muscles[muscle].name} ({where})")
    return out


def _range(row: MuscleDose, weight: Decimal | None
           ) -> tuple[str | None, Decimal | None, Decimal | None, bool, Range | None, str | None]:
    """(text, units min, units max, per kg, the cited range, why none)."""
    if row.units is not None:
        r = row.units
        return _range_text(r, " U"), r.min, r.max, False, r, None
    if row.units_per_kg is not None:
        r = row.units_per_kg
        span = _range_text(r, " U/kg")
        if weight is None:
            return (f"{span} (give the weight for the units)", None, None, True, r,
                    None)
        lo = None if r.min is None else r.min * weight
        hi = None if r.max is None else r.max * weight
        at = Range(min=lo, max=hi, source=r.source)
        return (f"{span} ({_range_text(at, ' U')} at {format_amount(weight)} kg)", lo, hi,
                True, r, None)
    return (None, None, None, False, None,
            f"the label's table gives injection sites but no dose for this muscle: "
            f"{NOT_CHECKED}")


def label_help(ref: Reference, product: str, indication: str, muscle: str, age: int,
               weight: Decimal | None) -> LabelHelp:
    """What the product's label entry for the indication and age says for the muscle."""
    lab = ref.label_for_age(product, indication, age)
    ind = ref.indications[indication].name.lower()
    if lab is None:
        return LabelHelp(None, None, None, None, False, None,
                         f"bontrack holds no label entry of {product_name(ref, product)} for "
                         f"{ind} at age {age}: {NOT_HELD}", (), (), None, None)
    if not lab.labelled:
        return LabelHelp(lab.population, None, None, None, False, None,
                         f"the {product_name(ref, product)} label says {ind} is not "
                         f"established at age {age}: {NOT_CHECKED}", (), (), None, None)
    maxima = tuple(_maxima(ref, lab, muscle, weight))
    row = ref.muscle_rows(lab).get(muscle)
    if row is None:
        reason = _no_row_reason(ref, product_name(ref, product), lab)
        tail = NOT_CHECKED if lab.muscles_complete else NOT_HELD
        return LabelHelp(lab.population, None, None, None, False, None,
                         f"{reason}: {tail}", maxima, (), None, None)
    text, lo, hi, per_kg, rng, why = _range(row, weight)
    notes: list[str] = []
    if len(row.row_muscles) > 1:
        names = "/".join(ref.muscles[m].name for m in row.row_muscles)
        notes.append(f"one label row for {names} together")
    if row.both_sides:
        notes.append("the label's row is for left and right together")
    sites_text = None
    if row.sites is not None:
        sites_text = _sites(row)[1]
    else:
        notes.append("the label's table gives no number of sites")
    if per_kg and hi is not None and weight is not None:
        for w in lab.weight_based:
            cap = w.max_units_per_kg * weight
            if w.cap_units is not None:
                cap = min(cap, w.cap_units)
            if hi > cap:
                scope = "session" if w.scope == "session" else "per-limb"
                notes.append(f"the upper end at this weight ({_u(hi)}) is above the label's "
                             f"{scope} maximum ({_u(cap)}): the maximum applies")
    citation, quote = _cite(ref, rng.source if rng is not None else row.source)
    return LabelHelp(lab.population, text, lo, hi, per_kg, sites_text, why, maxima,
                     tuple(notes), citation, quote)


def response_text(seen: Sequence[ResponseSeen], muscle: str, muscle_name: str = "") -> str:
    """The response that followed a cycle, in words: the series on this muscle, else the
    whole-patient series; never another muscle's."""
    here = [r for r in seen if r.muscle == muscle] or [r for r in seen if r.muscle is None]
    if not here:
        return "no response measured"
    parts = []
    for r in here:
        site = (f" ({', '.join(x for x in (muscle_name or r.muscle, r.side) if x)})"
                if r.muscle else "")
        name = f"{r.scale}{site}"
        if r.best is None or r.baseline is None:
            parts.append(f"{name}: unknown ({r.unknown_reason or 'not measured'})")
            continue
        words = [f"{format_amount(r.baseline)} \u2192 {format_amount(r.best)}"]
        words.append("responder unknown" if r.responder is None
                     else "responder" if r.responder else "not a responder")
        if r.duration_kind in ("measured", "diary") and r.duration_days is not None:
            words.append(f"benefit {r.duration_days} days")
        elif r.duration_kind == "at_least" and r.duration_days is not None:
            words.append(f"benefit at least {r.duration_days} days")
        elif r.duration_kind == "no_benefit":
            words.append("no benefit")
        parts.append(f"{name}: " + ", ".join(words))
    return "; ".join(parts)


def clinic_median(product: str, doses: Sequence[ClinicDose],
                  min_records: int = MIN_CLINIC_RECORDS,
                  min_patients: int = MIN_CLINIC_PATIENTS) -> ClinicMedian:
    """The median units of the clinic's records of ``product`` (records of any other
    product are left out, never converted); none below the display minimum."""
    mine = [d for d in doses if d.product == product]
    n, patients = len(mine), len({d.patient for d in mine})
    if n < min_records or patients < min_patients:
        return ClinicMedian(product, n, patients, None,
                            f"fewer than {min_records} records of at least {min_patients} "
                            f"patients ({n} records, {patients} patients): no median shown")
    mid = Decimal(median([d.units for d in mine]))
    return ClinicMedian(product, n, patients, mid,
                        f"{_u(mid)} (median of {n} records, {patients} patients)")


def dose_help(ref: Reference, *, product: str, indication: str, muscle: str,
              side: str | None, age_years: int, weight_kg: Decimal | None,
              history: Sequence[PastDose], clinic: Sequence[ClinicDose],
              last: int = LAST_DOSES) -> DoseHelp:
    """The dose help for ``muscle`` with ``product`` for ``indication``, for a patient of
    ``age_years`` (and ``weight_kg`` for a range per kg). ``history``: the patient's given
    doses in the muscle (any product); ``clinic``: the clinic's records of the muscle. Raises
    ``PlanError`` naming the field for an unknown product, indication, muscle or side."""
    weight = None if weight_kg is None else Decimal(weight_kg)
    _validate(ref, product, indication, muscle, side, age_years, weight)
    lab = label_help(ref, product, indication, muscle, age_years, weight)
    shown = sorted((d for d in history if d.product is not None),
                   key=lambda d: d.day, reverse=True)

    def show(d: PastDose) -> ShownDose:
        return ShownDose(d.day, d.product, product_name(ref, d.product), d.indication,
                         d.side, d.units, d.sites, side is None or d.side == side,
                         response_text(d.responses, muscle, ref.muscles[muscle].name))

    this = [show(d) for d in shown if d.product == product][:last]
    others = [show(d) for d in shown if d.product != product][:last]
    notes: list[str] = []
    if others:
        notes.append("Doses of other products are listed apart and never converted: units "
                     "of different botulinum toxin products are not interchangeable.")
    if lab.per_kg and weight is None:
        notes.append("The label doses this muscle per kg of body weight: give the weight.")
    return DoseHelp(
        product=product, product_name=product_name(ref, product),
        brands=tuple(ref.products[product].brands), indication=indication,
        indication_name=ref.indications[indication].name, muscle=muscle,
        muscle_name=ref.muscles[muscle].name, side=side, age_years=age_years,
        weight_kg=weight, label=lab, history=tuple(this), other_products=tuple(others),
        clinic=clinic_median(product, clinic), notes=tuple(notes))


def _amount(x: Decimal | None) -> str | None:
    return None if x is None else format_amount(x)


def _dose_doc(d: ShownDose) -> dict[str, Any]:
    return {"date": d.day.isoformat(), "product": d.product, "product_name": d.product_name,
            "indication": d.indication, "side": d.side, "units": format_amount(d.units),
            "sites": d.sites, "this_side": d.this_side, "response": d.response}


def dose_help_doc(h: DoseHelp) -> dict[str, Any]:
    """The dose help as JSON (amounts as text, as the plan check's documents write them)."""
    lab = h.label
    return {
        "product": h.product, "product_name": h.product_name, "brands": list(h.brands),
        "indication": h.indication, "indication_name": h.indication_name,
        "muscle": h.muscle, "muscle_name": h.muscle_name, "side": h.side,
        "age_years": h.age_years, "weight_kg": _amount(h.weight_kg),
        "label": {
            "population": lab.population, "checked": lab.range_text is not None,
            "range": lab.range_text, "units_min": _amount(lab.units_min),
            "units_max": _amount(lab.units_max), "per_kg": lab.per_kg,
            "sites": lab.sites_text, "reason": lab.reason, "maxima": list(lab.maxima),
            "notes": list(lab.notes),
            "source": (None if lab.citation is None
                       else {"citation": lab.citation, "quote": lab.quote}),
        },
        "history": [_dose_doc(d) for d in h.history],
        "other_products": [_dose_doc(d) for d in h.other_products],
        "clinic": {"product": h.clinic.product, "records": h.clinic.records,
                   "patients": h.clinic.patients,
                   "median_units": _amount(h.clinic.median_units), "text": h.clinic.text,
                   "min_records": MIN_CLINIC_RECORDS, "min_patients": MIN_CLINIC_PATIENTS},
        "notes": list(h.notes),
    }
