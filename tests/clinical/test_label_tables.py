"""Table-driven cases generated from the bundled label data: for every product and labelled
indication, each cited limit is accepted at its number and stopped (or warned) just above.

These tests read the numbers from the reference files, so a limit added to the data is
tested without a new line of test code; the hand-written cases below pin the most
important label numbers themselves."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from bontrack.clinical.calendar import after
from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.plan import read_plan
from bontrack.reference import default_reference
from bontrack.reference.schema import LabelEntry

REF = default_reference()
DAY = "2026-11-24"
DEFAULT_MUSCLE = {
    "upper_limb_spasticity": "biceps_brachii",
    "lower_limb_spasticity": "soleus",
    "cervical_dystonia": "splenius_capitis",
    "blepharospasm": "orbicularis_oculi",
    "strabismus": "medial_rectus",
    "chronic_migraine": "temporalis",
    "axillary_hyperhidrosis": "axilla",
    "sialorrhea": "parotid_gland",
    "glabellar_lines": "corrugator_supercilii",
    "lateral_canthal_lines": "orbicularis_oculi",
    "forehead_lines": "frontalis",
    "platysma_bands": "platysma",
    "upper_facial_lines": "frontalis",
    "overactive_bladder": "detrusor",
    "neurogenic_detrusor_overactivity": "detrusor",
}


@dataclass(frozen=True)
class Case:
    product: str
    entry: LabelEntry

    @property
    def id(self) -> str:
        return f"{self.product}-{self.entry.indication}-{self.entry.population}"


CASES = [Case(p.id, e) for p in REF.products.values() for e in p.labels if e.labelled]


def patient(entry: LabelEntry, weight: int = 30) -> dict[str, Any]:
    age = max(entry.ages.min, 40 if entry.population == "adult" else 8)
    if entry.ages.max is not None:
        age = min(age, entry.ages.max)
    return {"age_years": age, "weight_kg": weight}


def side_for(muscle: str) -> str:
    return "left" if REF.muscles[muscle].paired else "midline"


def plan(
    case: Case, units: Decimal, muscle: str | None = None, sites: int = 1, **extra: Any
) -> dict[str, Any]:
    m = muscle or (
        case.entry.muscles[0].muscle
        if case.entry.muscles
        else DEFAULT_MUSCLE[case.entry.indication]
    )
    doc = {
        "date": DAY,
        "patient": patient(case.entry),
        "product": case.product,
        "indication": case.entry.indication,
        "injections": [{"muscle": m, "side": side_for(m), "units": str(units), "sites": sites}],
    }
    doc.update(extra)
    return doc


def run(doc: dict[str, Any]) -> CheckResult:
    return check_plan(read_plan(doc, REF), REF)


def has(result: CheckResult, code: str) -> bool:
    return any(f.code == code for f in result.findings)


def test_every_product_has_at_least_one_labelled_indication():
    assert {c.product for c in CASES} == set(REF.products)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_labelled_use_is_accepted_without_label_warnings(case):
    result = run(plan(case, Decimal(1)))
    assert not has(result, "INDICATION_NOT_LABELLED")
    assert not has(result, "AGE_OUTSIDE_LABEL")


SESSION = [c for c in CASES if c.entry.session_max_units]


@pytest.mark.parametrize("case", SESSION, ids=lambda c: c.id)
def test_session_maximum_accepts_at_and_stops_above(case):
    limit = case.entry.session_max_units.value
    assert not has(run(plan(case, limit, sites=40)), "SESSION_MAX_EXCEEDED")
    over = run(plan(case, limit + 1, sites=40))
    f = next(f for f in over.findings if f.code == "SESSION_MAX_EXCEEDED")
    assert f.limit == limit and f.source and over.verdict == "stop"


WEIGHT = [(c, w) for c in CASES for w in c.entry.weight_based]


@pytest.mark.parametrize(("case", "rule"), WEIGHT, ids=lambda x: getattr(x, "id", ""))
@pytest.mark.parametrize("weight", [12, 30, 70])
def test_weight_based_maximum_accepts_at_and_stops_above(case, rule, weight):
    cap = rule.max_units_per_kg * weight
    if rule.cap_units is not None:
        cap = min(cap, rule.cap_units)
    doc = plan(case, cap, sites=40)
    doc["patient"]["weight_kg"] = weight
    # other weight rules of the same entry (a per-limb cap below a session cap) may fire;
    # this rule's own limit must not
    assert not any(
        f.code == "WEIGHT_BASED_MAX_EXCEEDED" and f.limit == cap for f in run(doc).findings
    )
    doc["injections"][0]["units"] = str(cap + 1)
    over = run(doc)
    assert any(f.code == "WEIGHT_BASED_MAX_EXCEEDED" and f.limit == cap for f in over.findings)


RETREAT = [c for c in CASES if c.entry.retreatment_min_interval]


@pytest.mark.parametrize("case", RETREAT, ids=lambda c: c.id)
def test_retreatment_interval_accepts_at_and_stops_one_day_sooner(case):
    from datetime import date, timedelta

    interval = case.entry.retreatment_min_interval
    day = date.fromisoformat(DAY)
    # the last treatment exactly one interval before: allowed
    last = day
    while after(last, interval) > day:
        last -= timedelta(days=1)
    hist = [
        {
            "date": last.isoformat(),
            "product": case.product,
            "indication": case.entry.indication,
            "total_units": 1,
        }
    ]
    assert not has(run(plan(case, Decimal(1), history=hist)), "RETREATMENT_TOO_SOON")
    hist[0]["date"] = (last + timedelta(days=1)).isoformat()
    assert has(run(plan(case, Decimal(1), history=hist)), "RETREATMENT_TOO_SOON")


ROWS = [
    (c, r)
    for c in CASES
    for r in c.entry.muscles
    if (r.units and r.units.max is not None) or (r.units_per_kg and r.units_per_kg.max)
]


@pytest.mark.parametrize(("case", "row"), ROWS, ids=lambda x: getattr(x, "id", ""))
def test_muscle_table_accepts_the_top_of_the_range_and_warns_above(case, row):
    weight = 30
    high = row.units.max if row.units else row.units_per_kg.max * weight
    sites = int(row.sites.max) if row.sites and row.sites.max else 1
    injections = []
    sides = (
        ["left", "right"]
        if row.both_sides and REF.muscles[row.muscle].paired
        else [side_for(row.muscle)]
    )
    for side in sides:
        injections.append(
            {
                "muscle": row.muscle,
                "side": side,
                "units": str(high / len(sides)),
                "sites": max(1, sites // len(sides)),
            }
        )
    doc = plan(case, Decimal(1), injections=injections)
    doc["patient"]["weight_kg"] = weight
    assert not any(
        f.code == "MUSCLE_DOSE_ABOVE_RANGE" and f.muscle == row.muscle for f in run(doc).findings
    )
    doc["injections"][0]["units"] = str(Decimal(doc["injections"][0]["units"]) + 1)
    assert any(
        f.code == "MUSCLE_DOSE_ABOVE_RANGE" and f.muscle == row.muscle for f in run(doc).findings
    )


SITE = [c for c in CASES if c.entry.per_site_max_units]


@pytest.mark.parametrize("case", SITE, ids=lambda c: c.id)
def test_per_site_maximum_accepts_at_and_stops_above(case):
    limit = case.entry.per_site_max_units.value
    assert not any(
        f.code == "SITE_DOSE_ABOVE_MAX" and f.unit == "U"
        for f in run(plan(case, limit * 2, sites=2)).findings
    )
    assert any(
        f.code == "SITE_DOSE_ABOVE_MAX" and f.unit == "U"
        for f in run(plan(case, limit * 2 + 1, sites=2)).findings
    )


CUMULATIVE = [
    (p.id, lim)
    for p in REF.products.values()
    for lim in p.cumulative_limits
    if lim.max_units is not None
]


def _entry_for_limit(product: str, limit: Any) -> LabelEntry:
    """A labelled entry the limit applies to, for a patient of the limit's population."""
    return next(
        e
        for e in REF.products[product].labels
        if e.labelled
        and limit.applies_to(e.indication)
        and (limit.population == "any" or e.population == limit.population)
    )


def _other_indication(entry: LabelEntry, limit: Any) -> str:
    pool = limit.indications or list(REF.indications)
    return next((i for i in pool if i != entry.indication), entry.indication)


def _history_day(limit: Any) -> str:
    return DAY if limit.window is None else "2026-11-20"


def _limit_hit(result: CheckResult, cap: Decimal) -> bool:
    return any(
        f.code in ("CUMULATIVE_MAX_EXCEEDED", "SESSION_MAX_EXCEEDED") and f.limit == cap
        for f in result.findings
    )


@pytest.mark.parametrize(("product", "limit"), CUMULATIVE, ids=lambda x: str(x)[:40])
def test_cumulative_limit_counts_the_history_it_names_and_stops_one_unit_above(product, limit):
    """Every cumulative limit (a window of time, or one treatment session; any indication or
    the ones it names): history up to the limit passes, one unit more is a stop."""
    entry = _entry_for_limit(product, limit)
    case = Case(product, entry)
    hist = [
        {
            "date": _history_day(limit),
            "product": product,
            "indication": _other_indication(entry, limit),
            "total_units": str(limit.max_units),
        }
    ]
    doc = plan(case, Decimal(1), sites=1, history=hist)
    doc["patient"]["weight_kg"] = 200  # so a per-kg limit is not the lower one
    over = run(doc)
    assert any(
        f.code == "CUMULATIVE_MAX_EXCEEDED" and f.limit == limit.max_units for f in over.findings
    )
    assert over.verdict == "stop"
    doc["history"][0]["total_units"] = str(limit.max_units - 1)
    assert not _limit_hit(run(doc), limit.max_units)


@pytest.mark.parametrize(("product", "limit"), CUMULATIVE, ids=lambda x: str(x)[:40])
def test_cumulative_limit_never_counts_another_products_units(product, limit):
    entry = _entry_for_limit(product, limit)
    other = next(p for p in REF.products if p != product)
    hist = [
        {
            "date": _history_day(limit),
            "product": other,
            "indication": _other_indication(entry, limit),
            "total_units": str(limit.max_units * 100),
        }
    ]
    doc = plan(Case(product, entry), Decimal(1), sites=1, history=hist)
    doc["patient"]["weight_kg"] = 200
    result = run(doc)
    assert not _limit_hit(result, limit.max_units)
    assert has(result, "UNITS_NOT_INTERCHANGEABLE")


SESSION_LIMITS = [(p, lim) for p, lim in CUMULATIVE if lim.window is None]


@pytest.mark.parametrize(("product", "limit"), SESSION_LIMITS, ids=lambda x: str(x)[:40])
def test_a_per_session_limit_stops_a_plan_alone_above_it(product, limit):
    entry = _entry_for_limit(product, limit)
    case = Case(product, entry)
    doc = plan(case, limit.max_units, sites=40)
    doc["patient"]["weight_kg"] = 200
    assert not _limit_hit(run(doc), limit.max_units)
    doc["injections"][0]["units"] = str(limit.max_units + 1)
    over = run(doc)
    assert over.verdict == "stop"
    # reported as this limit, or by the entry's own session or weight-based limit at or below it
    assert any(
        f.code in ("SESSION_MAX_EXCEEDED", "WEIGHT_BASED_MAX_EXCEEDED")
        and f.limit is not None
        and f.limit <= limit.max_units
        for f in over.findings
    )


USUAL = [c for c in CASES if c.entry.usual_units and c.entry.usual_units.max is not None]


@pytest.mark.parametrize("case", USUAL, ids=lambda c: c.id)
def test_recommended_range_accepts_its_top_and_warns_just_above(case):
    """A range is not a maximum: above the recommended dose is a warning of its own code
    (or, where a maximum sits at the same number, that maximum's stop)."""
    top = case.entry.usual_units.max
    doc = plan(case, top, sites=40)
    doc["patient"]["weight_kg"] = 200
    assert not has(run(doc), "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE")
    doc["injections"][0]["units"] = str(top + 1)
    over = run(doc)
    warned = [f for f in over.findings if f.code == "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE"]
    assert warned or over.verdict == "stop"
    for f in warned:
        assert f.severity.label == "warning" and f.limit == top and f.source


USUAL_WEIGHT = [(c, w) for c in CASES for w in c.entry.usual_weight_based]


@pytest.mark.parametrize(("case", "rule"), USUAL_WEIGHT, ids=lambda x: getattr(x, "id", ""))
@pytest.mark.parametrize("weight", [12, 30, 70])
def test_recommended_dose_per_kg_accepts_its_top_and_warns_above(case, rule, weight):
    cap = rule.max_units_per_kg * weight
    if rule.cap_units is not None:
        cap = min(cap, rule.cap_units)
    doc = plan(case, cap, sites=40)
    doc["patient"]["weight_kg"] = weight
    assert not has(run(doc), "WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE")
    doc["injections"][0]["units"] = str(cap + 1)
    over = run(doc)
    f = next(f for f in over.findings if f.code == "WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE")
    assert f.limit == cap and f.severity.label == "warning"


SITE_USUAL = [c for c in CASES if c.entry.per_site_usual_units]


@pytest.mark.parametrize("case", SITE_USUAL, ids=lambda c: c.id)
def test_recommended_dose_per_site_warns_above_and_never_stops(case):
    value = case.entry.per_site_usual_units.value
    at = run(plan(case, value * 2, sites=2))
    assert not has(at, "SITE_DOSE_ABOVE_RECOMMENDED")
    over = run(plan(case, value * 2 + 1, sites=2))
    f = next(f for f in over.findings if f.code == "SITE_DOSE_ABOVE_RECOMMENDED")
    assert f.severity.label == "warning" and f.limit == value


SHARED = [(c, r) for c in CASES for r in c.entry.muscles if r.together_with]


@pytest.mark.parametrize(("case", "row"), SHARED, ids=lambda x: getattr(x, "id", ""))
def test_muscles_of_one_label_row_are_checked_together(case, row):
    high = row.units.max
    n = len(row.row_muscles)
    injections = [
        {"muscle": m, "side": "left", "units": str(high / n), "sites": 1} for m in row.row_muscles
    ]
    doc = plan(case, Decimal(1), injections=injections)
    assert not has(run(doc), "MUSCLE_DOSE_ABOVE_RANGE")
    injections[-1]["units"] = str(high / n + 1)
    found = [f for f in run(doc).findings if f.code == "MUSCLE_DOSE_ABOVE_RANGE"]
    assert len(found) == 1 and found[0].muscles == row.row_muscles


def _outside_the_table(entry: LabelEntry) -> str | None:
    rows = {m for r in entry.muscles for m in r.row_muscles}
    region = REF.muscles[entry.muscles[0].muscle].region
    return next(
        (m.id for m in REF.muscles.values() if m.id not in rows and m.region == region), None
    )


INCOMPLETE = [
    c
    for c in CASES
    if c.entry.muscles and not c.entry.muscles_complete and _outside_the_table(c.entry)
]
COMPLETE = [c for c in CASES if c.entry.muscles_complete and _outside_the_table(c.entry)]


@pytest.mark.parametrize("case", COMPLETE, ids=lambda c: c.id)
def test_a_muscle_outside_a_complete_table_is_outside_the_label(case):
    result = run(plan(case, Decimal(1), muscle=_outside_the_table(case.entry)))
    assert has(result, "MUSCLE_NOT_IN_LABEL_TABLE")
    assert not has(result, "MUSCLE_NOT_IN_REFERENCE_TABLE")


@pytest.mark.parametrize("case", INCOMPLETE, ids=lambda c: c.id)
def test_a_muscle_outside_an_incomplete_copy_is_never_said_to_be_outside_the_label(case):
    result = run(plan(case, Decimal(1), muscle=_outside_the_table(case.entry)))
    assert not has(result, "MUSCLE_NOT_IN_LABEL_TABLE")
    f = next(f for f in result.findings if f.code == "MUSCLE_NOT_IN_REFERENCE_TABLE")
    assert "bontrack's copy" in f.message
    assert "per_muscle" in result.checks_not_available


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_labelled_use_names_what_it_could_not_check_or_checks_everything(case):
    """Never a silent OK: a plan with no finding above info either ran every check family or
    carries LIMIT_NOT_AVAILABLE naming the ones that did not run."""
    result = run(plan(case, Decimal(1)))
    from bontrack.clinical.findings import CHECK_FAMILIES

    lna = [f for f in result.findings if f.code == "LIMIT_NOT_AVAILABLE"]
    assert len(lna) <= 1
    if lna:
        assert lna[0].checks and set(lna[0].checks) <= set(CHECK_FAMILIES)
        assert result.checks_not_available == lna[0].checks


# -- the most important label numbers, pinned ---------------------------------------------


def _entry(product: str, indication: str, population: str) -> LabelEntry:
    return next(
        e
        for e in REF.products[product].labels
        if e.indication == indication and e.population == population and e.labelled
    )


def test_botox_adult_cumulative_limit_is_400_units_in_3_months():
    lim = next(
        c for c in REF.products["onabotulinumtoxinA"].cumulative_limits if c.population == "adult"
    )
    assert (lim.max_units, lim.window.months) == (400, 3)


def test_botox_child_upper_limb_is_6_units_per_kg_or_200_units_per_session():
    rule = _entry("onabotulinumtoxinA", "upper_limb_spasticity", "pediatric").weight_based[0]
    assert (rule.max_units_per_kg, rule.cap_units, rule.scope) == (6, 200, "session")


def test_stops_a_24_kg_child_given_150_units_of_botox_in_the_arms():
    doc = {
        "date": DAY,
        "patient": {"age_years": 10, "weight_kg": 24},
        "product": "BOTOX",
        "indication": "upper_limb_spasticity",
        "injections": [
            {"muscle": "biceps_brachii", "side": "left", "units": 75, "sites": 4},
            {"muscle": "biceps_brachii", "side": "right", "units": 75, "sites": 4},
        ],
    }
    f = next(f for f in run(doc).findings if f.code == "WEIGHT_BASED_MAX_EXCEEDED")
    assert (f.value, f.limit) == (150, 144)  # 6 U/kg x 24 kg


def test_dysport_child_upper_limb_is_16_units_per_kg_or_640_units_per_limb():
    rules = _entry("abobotulinumtoxinA", "upper_limb_spasticity", "pediatric").weight_based
    assert any((r.max_units_per_kg, r.cap_units, r.scope) == (16, 640, "per_limb") for r in rules)


def test_xeomin_child_upper_limb_is_8_units_per_kg_or_200_units_per_limb():
    rules = _entry("incobotulinumtoxinA", "upper_limb_spasticity", "pediatric").weight_based
    assert any((r.max_units_per_kg, r.cap_units) == (8, 200) for r in rules)


def test_botox_chronic_migraine_is_155_units_recommended_not_a_maximum():
    entry = _entry("onabotulinumtoxinA", "chronic_migraine", "adult")
    assert (entry.usual_units.min, entry.usual_units.max) == (155, 155)
    assert entry.session_max_units is None  # the 400 U / 3 months is the stop


SITE_ML = [
    (c, name)
    for c in CASES
    for name in ("per_site_max_ml", "per_site_usual_ml")
    if getattr(c.entry, name) is not None
    and REF.products[c.product].form == "lyophilized_powder"
    and REF.products[c.product].reconstitution
]


@pytest.mark.parametrize(("case", "name"), SITE_ML, ids=lambda x: getattr(x, "id", str(x)))
def test_volume_per_site_accepts_the_limit_and_flags_just_above(case, name):
    """mL per site from a labelled dilution: at the limit no finding; 0.01 mL more is a stop
    (a maximum) or a warning (a recommended volume)."""
    limit = getattr(case.entry, name).value
    recon = REF.products[case.product].reconstitution[0]
    size, diluent = recon.size_units, recon.diluent_ml[0]
    per_ml = size / diluent
    code = "SITE_DOSE_ABOVE_MAX" if name == "per_site_max_ml" else "SITE_DOSE_ABOVE_RECOMMENDED"
    vials = [{"size_units": str(size), "diluent_ml": str(diluent)}]

    def flagged(ml: Decimal) -> bool:
        result = run(plan(case, ml * per_ml * 2, sites=2, vials=vials))
        return any(f.code == code and f.unit == "mL" for f in result.findings)

    assert not flagged(limit)
    assert flagged(limit + Decimal("0.01"))
