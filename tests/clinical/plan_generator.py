"""A seeded generator of plan documents, and the frozen results of today's checker on them.

``plans(n)`` builds ``n`` plan documents deterministically (``random.Random(seed)``) across
products (ids and brand names), labelled and unlabelled indications, muscles in and out of
the label tables, ages (by age or birth date), weights, units (whole and fractional), sites,
vials (sizes, dilutions, reconstitution times, expiry), history (same and other products and
indications, intervals before and after the plan's day), conditions and medications. About
one plan in twelve is broken on purpose (an unknown name, a bad number, a missing weight...):
its expected outcome is the reader's error message.

``python -m tests.clinical.plan_generator`` rewrites the fixture
``tests/clinical/data/plan_equivalence.json.xz``: each plan with the result document
(``result_dict``, compared as ``json.dumps`` writes it) or the error. The fixture was frozen
from the checker *before* the fast path (issue 16); ``test_plan_equivalence.py`` holds every later
implementation to it. Regenerate it only for a deliberate change of findings.
"""

from __future__ import annotations

import json
import lzma
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bontrack.reference import Reference, default_reference

FIXTURE = Path(__file__).parent / "data" / "plan_equivalence.json.xz"
SEED = 16
COUNT = 1200
UNSUPPLIED_SIZE = Decimal(150)  # a vial size no product is supplied in

MEDICATIONS = (
    "gentamicin", "baclofen", "Baclofen 10 mg tds", "aspirin", "tobramycin", "amikacin",
    "carisoprodol/aspirin", "gentamycin", "xyzzy", "metformin", "succinylcholine",
    "quinidine", "magnesium sulfate",
)
BROKEN = (
    ("injections.0.muscle", "gastrocnemius medial"),
    ("injections.0.units", -5),
    ("injections.0.units", "lots"),
    ("injections.0.sites", 0),
    ("injections.0.side", "up"),
    ("injections.0.guidance", "dowsing"),
    ("product", "Botax"),
    ("indication", "spasticity"),
    ("patient.weight_kg", None),
    ("patient.age_years", 200),
    ("date", "24/11/2026"),
    ("vials.0.size_units", 0),
    ("history.0.total_units", "x"),
    ("extra_field", 1),
    ("injections", []),
    ("patient.conditions", ["myasthenia"]),
)


def _pick_day(rnd: random.Random) -> date:
    return date(2026, 1, 1) + timedelta(days=rnd.randrange(0, 700))


def _units(rnd: random.Random) -> Any:
    kind = rnd.random()
    if kind < 0.6:
        return rnd.choice((2.5, 5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 80, 100, 120, 150, 200))
    if kind < 0.85:
        return rnd.randrange(1, 400)
    if kind < 0.95:
        return round(rnd.uniform(0.5, 120), rnd.choice((1, 2)))
    return str(rnd.randrange(1, 300))


def _patient(rnd: random.Random, day: date) -> dict[str, Any]:
    age = rnd.choice((rnd.randrange(2, 18), rnd.randrange(18, 95), rnd.randrange(2, 95)))
    p: dict[str, Any] = {}
    if rnd.random() < 0.5:
        p["age_years"] = age
    else:
        born = day - timedelta(days=int(age * 365.25) + rnd.randrange(0, 360))
        p["birth_date"] = born.isoformat()
    if age < 18 or rnd.random() < 0.7:
        p["weight_kg"] = rnd.choice(
            (rnd.randrange(10, 40), rnd.randrange(40, 120), round(rnd.uniform(8, 90), 1))
        )
    if rnd.random() < 0.3:
        p["conditions"] = rnd.sample(list(REF.conditions), rnd.randrange(1, 3))
    if rnd.random() < 0.35:
        p["medications"] = rnd.sample(MEDICATIONS, rnd.randrange(1, 3))
    return p


def _muscles(rnd: random.Random, ref: Reference, product: str, indication: str) -> list[str]:
    table = [m for e in ref.label_entries(product, indication) for r in e.muscles
             for m in r.row_muscles]
    table += [lim.muscle for e in ref.label_entries(product, indication)
              for lim in e.muscle_limits]
    chosen = []
    for _ in range(rnd.randrange(1, 12)):
        if table and rnd.random() < 0.65:
            chosen.append(rnd.choice(table))
        else:
            chosen.append(rnd.choice([m for m in ref.muscles if m not in LATER_MUSCLES]))
    return chosen


#: Muscles added to the reference data after the fixture was frozen (issue 17's neck
#: patterns, 2026-12-07: the longus muscles for anterocaput/anterocollis, the obliquus capitis
#: inferior for torticaput): the generator draws from the muscles it had then, so the same
#: seed still gives the fixture's plans.
LATER_MUSCLES = frozenset({"longus_colli", "longus_capitis", "obliquus_capitis_inferior"})


def _injection(rnd: random.Random, ref: Reference, muscle: str) -> dict[str, Any]:
    paired = ref.muscles[muscle].paired
    inj: dict[str, Any] = {
        "muscle": muscle,
        "side": rnd.choice(("left", "right", "Left")) if paired else "midline",
        "units": _units(rnd),
    }
    if rnd.random() < 0.8:
        inj["sites"] = rnd.choice((1, 1, 2, 3, 4, 6, 10))
    if rnd.random() < 0.4:
        inj["guidance"] = rnd.choice(("anatomic", "emg", "estim", "ultrasound", "EMG"))
    return inj


def _vials(rnd: random.Random, ref: Reference, product: str, day: date) -> list[dict[str, Any]]:
    p = ref.products[product]
    out = []
    for i in range(rnd.choice((0, 0, 1, 1, 2, 3))):
        size = rnd.choice([v.size_units for v in p.vials] + [UNSUPPLIED_SIZE])
        v: dict[str, Any] = {"size_units": int(size) if size == int(size) else float(size)}
        dils = [d for r in p.reconstitution if r.size_units == size for d in r.diluent_ml]
        if p.form != "solution" or rnd.random() < 0.3:
            if dils and rnd.random() < 0.7:
                d = rnd.choice(dils)
                v["diluent_ml"] = int(d) if d == int(d) else float(d)
            elif rnd.random() < 0.8:
                v["diluent_ml"] = rnd.choice((1, 2, 2.5, 3, 4, 5))
        if rnd.random() < 0.6:
            back = timedelta(hours=rnd.choice((1, 3, 20, 26, 30, 70, 100, 200)))
            at = f"{day.isoformat()}T{rnd.randrange(6, 18):02d}:{rnd.choice((0, 15, 30)):02d}"
            if rnd.random() < 0.5:
                at = (datetime.fromisoformat(at) - back).isoformat(timespec="minutes")
                if at[:10] > day.isoformat():
                    at = f"{day.isoformat()}T06:00"
            v["reconstituted_at"] = at
        if rnd.random() < 0.5:
            v["lot"] = f"L{rnd.randrange(1000, 9999)}{'AB'[i % 2]}"
        if rnd.random() < 0.6:
            v["expiry"] = (day + timedelta(days=rnd.randrange(-30, 400))).isoformat()
        out.append(v)
    return out


def _history(rnd: random.Random, ref: Reference, product: str, indication: str,
             day: date) -> list[dict[str, Any]]:
    out = []
    products = list(ref.products)
    for _ in range(rnd.choice((0, 0, 1, 2, 3, 4))):
        out.append({
            "date": (day - timedelta(days=rnd.choice(
                (rnd.randrange(1, 120), rnd.randrange(60, 400), rnd.randrange(-20, 20))
            ))).isoformat(),
            "product": product if rnd.random() < 0.7 else rnd.choice(products),
            "indication": indication if rnd.random() < 0.7 else rnd.choice(list(ref.indications)),
            "total_units": rnd.choice((50, 100, 155, 200, 300, 360, 400, 500, 1000)),
        })
    return out


def _plan(rnd: random.Random, ref: Reference) -> dict[str, Any]:
    product = rnd.choice(list(ref.products))
    labelled = sorted({e.indication for e in ref.products[product].labels})
    indication = (rnd.choice(labelled) if rnd.random() < 0.85
                  else rnd.choice(list(ref.indications)))
    day = _pick_day(rnd)
    doc: dict[str, Any] = {
        "date": day.isoformat() if rnd.random() < 0.85
        else f"{day.isoformat()}T{rnd.randrange(7, 19):02d}:30",
        "patient": _patient(rnd, day),
        "product": product if rnd.random() < 0.7
        else rnd.choice(ref.products[product].brands).lower(),
        "indication": indication,
        "injections": [_injection(rnd, ref, m) for m in _muscles(rnd, ref, product, indication)],
    }
    vials = _vials(rnd, ref, product, day)
    if vials:
        doc["vials"] = vials
    history = _history(rnd, ref, product, indication, day)
    if history:
        doc["history"] = history
    if rnd.random() < 1 / 12:
        _break(rnd, doc)
    return doc


def _break(rnd: random.Random, doc: dict[str, Any]) -> None:
    path, value = rnd.choice(BROKEN)
    parts = path.split(".")
    target: Any = doc
    for p in parts[:-1]:
        if p not in target if isinstance(target, dict) else int(p) >= len(target):
            return
        target = target[int(p)] if isinstance(target, list) else target[p]
    if value is None:
        target.pop(parts[-1], None)
        doc["patient"].pop("birth_date", None)
        doc["patient"]["age_years"] = 9
    else:
        target[parts[-1]] = value


REF = default_reference()


def plans(n: int = COUNT, seed: int = SEED) -> list[dict[str, Any]]:
    """``n`` plan documents, the same ones on every run."""
    rnd = random.Random(seed)
    return [_plan(rnd, REF) for _ in range(n)]


def freeze() -> None:
    """Write the fixture from the checker as it is now (see the module docstring)."""
    from bontrack.clinical.check import check_plan
    from bontrack.clinical.plan import read_plan
    from bontrack.clinical.result import result_dict
    from bontrack.errors import PlanError

    cases = []
    for doc in plans():
        try:
            result = check_plan(read_plan(doc, REF), REF)
        except PlanError as e:
            cases.append({"plan": doc, "error": e.message})
            continue
        cases.append({"plan": doc, "result": result_dict(result, REF)})
    FIXTURE.parent.mkdir(exist_ok=True)
    with lzma.open(FIXTURE, "wt", encoding="utf-8", preset=9) as f:
        json.dump(cases, f, separators=(",", ":"))
    errors = sum("error" in c for c in cases)
    print(f"{FIXTURE}: {len(cases)} plans, {errors} refused")


if __name__ == "__main__":
    freeze()
