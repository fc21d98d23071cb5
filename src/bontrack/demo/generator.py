"""Deterministic synthetic demo data: a clinic, its users, and patients with several cycles,
outcomes that improve and wane over each cycle, and a few side effects.

Every generated cycle goes through the same plan check as a real one, with the history
generated so far; a plan with a stop finding is scaled down until it passes (or dropped).
Doses are drawn inside the label's own ranges from the reference data where it has them, so
the demo never teaches a dose the label does not support.

Built for size (``bontrack demo --patients 100000`` is a registry of about a million
injections): each patient is drawn from its own random stream, seeded by the seed and the
patient's number, so the same seed gives the same patients whatever the batch size, and a
smaller run is the start of a larger one. Patients are drawn in batches of ``BATCH`` outside
any transaction (by worker processes, a few batches ahead, for a large demo), then each batch
is written in one transaction with one multi-row statement per table (``store.bulk``) and its
audit events chained in order (``audit.record_many``), so memory stays flat whatever the
number of patients.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import secrets
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.findings import Severity
from bontrack.clinical.plan import Injection as PlanInjection
from bontrack.clinical.plan import PastTreatment, Plan
from bontrack.clinical.plan import Patient as PlanPatient
from bontrack.clinical.plan import Vial as PlanVial
from bontrack.reference import Reference, default_reference
from bontrack.reference.schema import LabelEntry
from bontrack.services import accounts, audit
from bontrack.services.cycles import child_rows
from bontrack.services.passwords import password_problem
from bontrack.services.triage import triage_texts
from bontrack.services.usecase import committed
from bontrack.store.bulk import insert_rows, new_ids
from bontrack.store.models import (
    Base,
    Clinic,
    Condition,
    Cycle,
    CycleFinding,
    DiaryEntry,
    Goal,
    Injection,
    Outcome,
    Patient,
    SideEffect,
    User,
    Vial,
    Weight,
)
from bontrack.store.uow import Database

ANCHOR = date(2026, 11, 2)  # fixed, so the same seed gives the same data on any day
CLINIC = "Demo clinic"
#: Patients per transaction: about 5,000 injections and 25,000 rows in all.
BATCH = 500
#: Cycles per patient (inclusive): with about four injections a cycle, ten a patient.
CYCLES = (2, 3)
CONSENT = ("Benefits, risks (including spread of toxin effect) and alternatives discussed; "
           "patient agrees.")
GUIDANCE = ("ultrasound", "emg", "estim", "anatomic")


@dataclass(frozen=True)
class Template:
    """A kind of patient: product, indication, ages and the muscles treated."""

    product: str
    indication: str
    ages: tuple[int, int]
    muscles: tuple[tuple[str, int, int, int], ...]  # fallback rows: muscle, min, max, sites
    scale: str
    icd10cm: str
    weight: int = 1


TEMPLATES = (
    Template("onabotulinumtoxinA", "upper_limb_spasticity", (45, 85),
             (("biceps_brachii", 60, 120, 3), ("brachioradialis", 45, 60, 2),
              ("flexor_carpi_radialis", 20, 40, 1)), "modified_ashworth", "I69.351", 4),
    Template("incobotulinumtoxinA", "upper_limb_spasticity", (40, 80),
             (("biceps_brachii", 50, 100, 2), ("flexor_carpi_ulnaris", 20, 40, 1)),
             "modified_ashworth", "I69.354", 2),
    Template("abobotulinumtoxinA", "upper_limb_spasticity", (35, 80),
             (("biceps_brachii", 200, 300, 3), ("flexor_carpi_radialis", 100, 150, 2),
              ("flexor_digitorum_superficialis", 100, 150, 2)), "modified_ashworth",
             "G81.11", 2),
    Template("onabotulinumtoxinA", "lower_limb_spasticity", (40, 80),
             (("gastrocnemius_medial_head", 50, 75, 3), ("soleus", 50, 75, 3),
              ("tibialis_posterior", 50, 75, 3)), "modified_ashworth", "I69.353", 2),
    Template("onabotulinumtoxinA", "upper_limb_spasticity", (3, 16),
             (("biceps_brachii", 1, 1, 4),), "modified_ashworth", "G80.2", 2),
    Template("abobotulinumtoxinA", "lower_limb_spasticity", (3, 16),
             (("gastrocnemius", 4, 8, 2), ("soleus", 2, 4, 2)), "modified_ashworth", "G80.1", 2),
    Template("onabotulinumtoxinA", "cervical_dystonia", (30, 75),
             (("sternocleidomastoid", 20, 40, 2), ("splenius_capitis", 40, 70, 3),
              ("trapezius", 30, 50, 2), ("levator_scapulae", 20, 40, 2)), "twstrs_total",
             "G24.3", 3),
    Template("rimabotulinumtoxinB", "cervical_dystonia", (30, 75),
             (("splenius_capitis", 1000, 1500, 2), ("trapezius", 1000, 1500, 2),
              ("levator_scapulae", 500, 1000, 2)), "twstrs_total", "G24.3", 1),
    Template("onabotulinumtoxinA", "chronic_migraine", (20, 65), (), "headache_days",
             "G43.709", 3),
    Template("onabotulinumtoxinA", "axillary_hyperhidrosis", (20, 55),
             (("axilla", 50, 50, 12),), "hdss", "L74.510", 1),
)

FIRST = ("Alex", "Sam", "Robin", "Kim", "Jo", "Charlie", "Nico", "Toni", "Lou", "Maxi",
         "Ari", "Jules", "Sasha", "Noa", "Eli", "Rene", "Kai", "Mika", "Yan", "Dana")
LAST = ("Synthetic", "Example", "Testperson", "Demo", "Sample", "Placeholder", "Fictive")
SIDE_EFFECTS = (("injection site pain", "mild", False), ("bruising at the injection site",
                "mild", False), ("neck pain", "mild", False), ("flu-like symptoms", "mild",
                False), ("muscle weakness", "moderate", False), ("headache", "mild", False))
RED_FLAG_EFFECT = ("difficulty swallowing (dysphagia)", "moderate", True)
_TRIAGED: dict[tuple[str, str], dict[str, Any]] = {}


def _triaged(term: str, ref: Reference) -> dict[str, Any]:
    """The triage columns of a demo side effect (the same few terms: triaged once each)."""
    key = (term, ref.version)
    if key not in _TRIAGED:
        doc = triage_texts([term], ref)
        _TRIAGED[key] = {"red_flags": [f["id"] for f in doc["flags"]],
                         "triage_level": doc["level"], "triage": doc}
    return _TRIAGED[key]


@dataclass
class Summary:
    clinic: str
    patients: int = 0
    cycles: int = 0
    injections: int = 0
    outcomes: int = 0
    side_effects: int = 0
    dropped_plans: int = 0
    accounts: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, p: PatientRows) -> None:
        self.patients += 1
        self.cycles += len(p.cycles)
        self.injections += sum(len(c.injections) for c in p.cycles)
        self.outcomes += sum(len(c.outcomes) for c in p.cycles)
        self.side_effects += sum(len(c.side_effects) for c in p.cycles)
        self.dropped_plans += p.dropped_plans


@dataclass
class CycleRows:
    """One signed cycle as column values; ``patient_id`` and ``cycle_id`` are filled in when
    the batch is written and its keys are known."""

    weight: dict[str, Any]
    cycle: dict[str, Any]
    injections: list[dict[str, Any]]
    vials: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    side_effects: list[dict[str, Any]]


@dataclass
class PatientRows:
    patient: dict[str, Any]
    condition: dict[str, Any]
    goal: dict[str, Any] | None
    cycles: list[CycleRows]
    dropped_plans: int = 0


PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 16  # about 92 bits from this alphabet


def _password(username: str) -> str:
    """A fresh random password (``secrets``, never the seed: every demo database gets its
    own) that meets the password policy; it is printed once and only its hash is kept."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if password_problem(password, username) is None:
            return password


def _child_weight(age: int, rng: random.Random) -> Decimal:
    # a rough synthetic growth curve: 12 kg at 2 years, about 2.5 kg a year after
    return Decimal(str(round(12 + 2.6 * (age - 2) + rng.uniform(-2, 3), 1)))


def _doses(t: Template, label: LabelEntry | None, weight: Decimal | None, rng: random.Random,
           side: str) -> list[dict[str, Any]]:
    """Injections for one cycle (on the patient's affected side): label table rows where
    there are some, else the template's."""
    out: list[dict[str, Any]] = []
    rows = label.muscles if label is not None else []
    if t.indication == "chronic_migraine" and rows:
        for row in rows:
            units = row.units.max if row.units and row.units.max else Decimal(5)
            sites = int(row.sites.max) if row.sites and row.sites.max else 1
            m = row.muscle
            if row.both_sides:
                half = units / 2
                out += [{"muscle": m, "side": s, "units": half, "sites": max(1, sites // 2)}
                        for s in ("left", "right")]
            else:
                out.append({"muscle": m, "side": "midline" if m == "procerus" else side,
                            "units": units, "sites": sites})
        return out
    if t.indication == "axillary_hyperhidrosis":
        return [{"muscle": "axilla", "side": s, "units": Decimal(50), "sites": 12}
                for s in ("left", "right")]
    usable = [r for r in rows if (r.units and r.units.min is not None and r.units.max)
              or (r.units_per_kg and weight is not None and r.units_per_kg.max)]
    if usable:
        chosen = rng.sample(usable, k=min(len(usable), rng.randint(2, 4)))
        for r in chosen:
            if r.units and r.units.max:
                lo, hi = r.units.min or r.units.max, r.units.max
            else:
                assert r.units_per_kg is not None and weight is not None
                lo = (r.units_per_kg.min or r.units_per_kg.max or Decimal(1)) * weight
                hi = (r.units_per_kg.max or lo) * weight
            units = Decimal(str(round(rng.uniform(float(lo), float(hi)) / 5) * 5 or 5))
            units = min(max(units, lo.quantize(Decimal(1))), hi.quantize(Decimal(1)))
            smin = int(r.sites.min) if r.sites and r.sites.min else 1
            smax = int(r.sites.max) if r.sites and r.sites.max else smin
            sites = _enough_sites(units, rng.randint(smin, smax), _unit_cap(label), smax)
            out.append({"muscle": r.muscle, "side": side, "units": units, "sites": sites})
        return out
    for muscle, low, high, sites in t.muscles:
        if weight is not None and t.ages[1] < 18:  # paediatric fallback rows are U/kg
            units = Decimal(str(round(rng.uniform(low, high) * float(weight))))
        else:
            units = Decimal(str(round(rng.uniform(low, high) / 5) * 5))
        out.append({"muscle": muscle, "side": side, "units": units,
                    "sites": _enough_sites(units, sites, _unit_cap(label), 2 * sites)})
    return out


def _unit_cap(label: LabelEntry | None) -> Decimal | None:
    return label.per_site_max_units.value if label and label.per_site_max_units else None


def _enough_sites(amount: Decimal, sites: int, cap: Decimal | None, most: int) -> int:
    """Spread a muscle's dose (units or mL) over more sites, up to ``most``, where the label
    caps the amount per site, as a clinician would, rather than draw a plan the check stops."""
    if cap is None or amount <= cap * sites:
        return sites
    return max(sites, min(most, math.ceil(amount / cap)))


def _vials(product_id: str, total: Decimal, ref: Reference, when: datetime,
           rng: random.Random) -> tuple[PlanVial, ...]:
    p = ref.products[product_id]
    sizes = sorted(v.size_units for v in p.vials)
    size = next((s for s in reversed(sizes) if s <= total), sizes[0])
    count = max(1, math.ceil(total / size))
    volumes = [v for r in p.reconstitution if r.size_units == size for v in r.diluent_ml]
    diluent = volumes[len(volumes) // 2] if volumes and p.form != "solution" else None
    lot = f"L{rng.randint(10000, 99999)}"
    return tuple(PlanVial(size_units=size, diluent_ml=diluent or None,
                          reconstituted_at=when - timedelta(minutes=30 + 5 * i), lot=lot,
                          expiry=(when + timedelta(days=rng.randint(60, 400))).date())
                 for i in range(count))


def _check(t: Template, patient: PlanPatient, day: date, label: LabelEntry | None,
           injections: list[dict[str, Any]], history: tuple[PastTreatment, ...],
           ref: Reference, rng: random.Random) -> CheckResult | None:
    """Check the plan; scale doses down until no stop remains (or give up).

    The plan is built as values, not read from a document: every name in it comes from the
    reference data already, and reading costs as much as checking. ``tests/services/
    test_demo.py`` reads stored cycles back through ``read_plan`` to prove it changes nothing.
    """
    when = datetime.combine(day, time(9, 30))
    ml_cap = label.per_site_max_ml.value if label and label.per_site_max_ml else None
    for _ in range(8):
        total = sum((i["units"] for i in injections), Decimal(0))
        vials = _vials(t.product, total, ref, when, rng)
        if ml_cap is not None and vials and vials[0].diluent_ml:
            per_ml = vials[0].size_units / vials[0].diluent_ml
            for i in injections:
                i["sites"] = _enough_sites(i["units"] / per_ml, i["sites"], ml_cap,
                                           2 * i["sites"])
        plan = Plan(date=day, time=when.time(), patient=patient, product=t.product,
                    indication=t.indication, vials=vials, history=history,
                    injections=tuple(PlanInjection(i["muscle"], i["side"], i["units"],
                                                   i["sites"]) for i in injections))
        result = check_plan(plan, ref)
        if not any(f.severity == Severity.STOP for f in result.findings):
            return result
        for i in injections:
            i["units"] = max(Decimal(1), (i["units"] * Decimal("0.8")).quantize(Decimal(1)))
            i["sites"] = max(i["sites"], 1)
    return None


def _course(rng: random.Random, scale: str) -> list[tuple[int, Decimal, str]]:
    """(day after injection, value, text) for one cycle: baseline, better, best, waning."""
    if scale == "modified_ashworth":
        base = rng.choice((2, 3, 3, 4))
        best = max(0, base - rng.choice((1, 1, 2)))
        mid = min(base, best + 1)
        values = [(-1, base), (14, mid), (42, best), (84, mid), (105, base)]
        text = {0: "0", 1: "1", 1.5: "1+", 2: "2", 3: "3", 4: "4"}
        return [(d, Decimal(v), text[v]) for d, v in values]
    if scale == "twstrs_total":
        base = rng.randint(35, 55)
        best = base - rng.randint(8, 18)
        pts = [(-1, base), (14, (base + best) // 2), (42, best), (84, best + 5), (105, base - 2)]
    elif scale == "headache_days":
        base = rng.randint(15, 24)
        best = max(2, base - rng.randint(5, 12))
        pts = [(-1, base), (28, (base + best) // 2), (56, best), (84, best + 3)]
    else:  # hdss
        pts = [(-1, 4), (14, 2), (60, 1), (150, 3)]
    return [(d, Decimal(v), str(v)) for d, v in pts]


def ensure_accounts(session: Session, first_patient: int | None
                    ) -> list[tuple[str, str, str]]:
    clinic = accounts.get_or_create_clinic(session, CLINIC)
    made: list[tuple[str, str, str]] = []
    wanted: list[tuple[str, str, int | None]] = [
        ("admin", "admin", None), ("dr.lee", "clinician", None),
              ("dr.okafor", "clinician", None), ("nurse.kim", "nurse", None)]
    if first_patient is not None:
        wanted.append(("patient1", "patient", first_patient))
    for username, role, pid in wanted:
        if session.scalar(select(User).where(User.username == username)) is None:
            password = _password(username)
            accounts.add_user(session, clinic=clinic, username=username, password=password,
                              role=role, patient_id=pid)
            made.append((username, role, password))
        else:
            made.append((username, role, "(unchanged: account existed)"))
    return made


def generate(db: Database, *, patients: int, seed: int = 7,
             ref: Reference | None = None, on_batch: Callable[[int], None] | None = None,
             workers: int | None = None) -> Summary:
    """Add ``patients`` synthetic patients (numbered on from those already in the demo
    clinic) and the demo accounts; ``on_batch`` is told how many patients each written batch
    held (for a progress bar). ``workers`` processes draw and check the patients while this
    one writes (default: see ``default_workers``; 0 draws them here)."""
    summary = Summary(clinic=CLINIC)
    with committed(db) as s:
        summary.accounts = ensure_accounts(s, None)
        clinic_id = accounts.get_or_create_clinic(s, CLINIC).id
        clinician_ids = [u.id for u in s.scalars(select(User).where(
            User.clinic_id == clinic_id, User.role == "clinician").order_by(User.id))]
        start = s.scalar(select(func.count()).select_from(Patient)
                         .where(Patient.clinic_id == clinic_id)) or 0
    first_patient: int | None = None
    job = Job(seed, clinic_id, tuple(clinician_ids))
    for batch in _batches(job, start, patients, ref,
                          default_workers(patients) if workers is None else workers):
        with committed(db) as s:
            ids = write_batch(s, batch)
        first_patient = first_patient or ids[0]
        for p in batch:
            summary.add(p)
        if on_batch:
            on_batch(len(batch))
    with committed(db) as s:
        if s.scalar(select(User).where(User.username == "patient1")) is None and first_patient:
            clinic = accounts.get_or_create_clinic(s, CLINIC)
            password = _password("patient1")
            accounts.add_user(s, clinic=clinic, username="patient1", password=password,
                              role="patient", patient_id=first_patient)
            summary.accounts.append(("patient1", "patient", password))
            _diary(s, first_patient, random.Random(f"{seed}:diary"))
    return summary


def existing_patients(db: Database) -> int | None:
    """How many patients the demo clinic holds, or None when this database has no demo."""
    with committed(db) as s:
        clinic_id = s.scalar(select(Clinic.id).where(Clinic.name == CLINIC))
        if clinic_id is None:
            return None
        return s.scalar(select(func.count()).select_from(Patient)
                        .where(Patient.clinic_id == clinic_id)) or 0


def other_clinics(db: Database) -> list[str]:
    """The clinics of the database other than the demo clinic. ``bontrack demo --reset``
    wipes a database only when there is none (never a real clinic's records); accounts and
    patients always belong to a clinic."""
    with committed(db) as s:
        return sorted(set(s.scalars(select(Clinic.name))) - {CLINIC})


def default_workers(patients: int) -> int:
    """Processes drawing patients: none for a small demo (starting one costs a second or
    two); else one less than the CPUs, at most four (more outrun one writer)."""
    if patients < 4 * BATCH:
        return 0
    return max(1, min(4, (os.cpu_count() or 1) - 1))


@dataclass(frozen=True)
class Job:
    """What drawing a patient needs from the database (picklable, for worker processes)."""

    seed: int
    clinic_id: int
    clinicians: tuple[int, ...]


def draw_patients(job: Job, first: int, count: int, now: datetime,
                  ref: Reference | None = None) -> list[PatientRows]:
    """Patients ``first`` .. ``first + count - 1`` of the job's seed, drawn and checked."""
    ref = ref or default_reference()
    return [patient_rows(n, job.seed, job.clinic_id, list(job.clinicians), ref, now)
            for n in range(first, first + count)]


def _batches(job: Job, start: int, patients: int, ref: Reference | None, workers: int
             ) -> Iterator[list[PatientRows]]:
    """The batches in order. With workers, a few batches are drawn ahead in other processes
    (never more than ``workers + 1``, so memory stays flat) while the caller writes."""
    ranges = [(start + a, min(BATCH, patients - a)) for a in range(0, patients, BATCH)]
    if workers <= 0 or (ref is not None and ref is not default_reference()):
        for first, count in ranges:
            yield draw_patients(job, first, count, audit.now(), ref)
        return
    # spawn, not fork: the caller may hold database connections and threads (a progress bar)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        todo = iter(ranges)
        ahead: deque[Future[list[PatientRows]]] = deque(
            pool.submit(draw_patients, job, first, count, audit.now())
            for first, count in islice(todo, workers + 1))
        while ahead:
            batch = ahead.popleft().result()
            for first, count in islice(todo, 1):
                ahead.append(pool.submit(draw_patients, job, first, count, audit.now()))
            yield batch
    finally:
        pool.shutdown(cancel_futures=True)


def write_batch(s: Session, batch: list[PatientRows]) -> list[int]:
    """Write a batch of patients in the session's transaction; returns their ids. Patients
    and cycles get their keys first (their children point at them); the other rows take
    theirs from the database. One ``demo_create`` audit event per patient, as before."""
    patient_ids = new_ids(s, Patient, len(batch))
    cycle_ids = iter(new_ids(s, Cycle, sum(len(p.cycles) for p in batch)))
    rows: dict[type[Base], list[dict[str, Any]]] = {
        m: [] for m in (Patient, Condition, Goal, Weight, Cycle, Injection, Vial, CycleFinding,
                        Outcome, SideEffect)}
    for pid, p in zip(patient_ids, batch, strict=True):
        rows[Patient].append({"id": pid, **p.patient})
        rows[Condition].append({"patient_id": pid, **p.condition})
        if p.goal is not None:
            rows[Goal].append({"patient_id": pid, **p.goal})
        for c in p.cycles:
            cid = next(cycle_ids)
            rows[Weight].append({"patient_id": pid, **c.weight})
            rows[Cycle].append({"id": cid, "patient_id": pid, **c.cycle})
            rows[Injection] += ({"cycle_id": cid, **r} for r in c.injections)
            rows[Vial] += ({"cycle_id": cid, **r} for r in c.vials)
            rows[CycleFinding] += ({"cycle_id": cid, **r} for r in c.findings)
            rows[Outcome] += ({"patient_id": pid, "cycle_id": cid, **r} for r in c.outcomes)
            rows[SideEffect] += ({"patient_id": pid, "cycle_id": cid, **r}
                                 for r in c.side_effects)
    for model, model_rows in rows.items():
        insert_rows(s, model, model_rows)
    audit.record_many(s, [audit.Event(None, "demo_create", "patient", pid, pid)
                          for pid in patient_ids])
    return patient_ids


def _diary(s: Session, patient_id: int, rng: random.Random) -> None:
    user = s.scalar(select(User).where(User.username == "patient1"))
    assert user is not None
    for k in range(8):
        day = ANCHOR - timedelta(days=7 * (8 - k))
        s.add(DiaryEntry(patient_id=patient_id, entry_date=day,
                         spasm_frequency=rng.randint(1, 3), spasm_intensity=rng.randint(1, 3),
                         pain=rng.randint(2, 6), side_effects="", note="",
                         created_by=user.id, created_at=datetime.combine(day, time(20),
                                                                         tzinfo=UTC),
                         status="active"))


def patient_rows(n: int, seed: int, clinic_id: int, clinicians: list[int], ref: Reference,
                 now: datetime) -> PatientRows:
    """The ``n``-th synthetic patient (from 0) of ``seed``: the same rows whenever drawn."""
    rng = random.Random(f"bontrack-demo:{seed}:{n}")
    t = rng.choices(TEMPLATES, weights=[t.weight for t in TEMPLATES])[0]
    n_cycles = rng.randint(*CYCLES)
    first_day = ANCHOR - timedelta(days=rng.randint(98, 112) * n_cycles)
    age_at_first = rng.randint(*t.ages)
    birth = first_day - timedelta(days=365 * age_at_first + rng.randint(0, 360))
    patient = {"clinic_id": clinic_id, "mrn": f"DEMO-{n + 1:06d}",
               "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {n + 1}",
               "family_name": None, "given_names": [],  # the demo names have no parts
               "birth_date": birth, "sex": rng.choice(("female", "male")), "flags": [],
               "medications": [], "status": "active", "version": 1, "record_version": 1,
               "created_at": now, "updated_at": now}
    condition = {"indication": t.indication, "icd10cm": t.icd10cm, "affected_side": None,
                 "onset_date": first_day - timedelta(days=200), "note": "", "status": "active",
                 "created_at": now}
    clinician = rng.choice(clinicians)
    goal = None
    if rng.random() < 0.5:
        goal = {"description": _goal_text(t), "weight": rng.randint(1, 3),
                "target_date": ANCHOR, "attainment": rng.choice((-1, 0, 0, 1, 2)),
                "status": "active", "version": 1, "created_by": clinician, "created_at": now}
    out = PatientRows(patient, condition, goal, [])
    history: tuple[PastTreatment, ...] = ()
    side = rng.choice(("left", "right"))
    day = first_day
    for _ in range(n_cycles):
        age = (day - birth).days // 365
        weight = _child_weight(age, rng) if age < 18 else Decimal(rng.randint(55, 95))
        label = ref.label_for_age(t.product, t.indication, age)
        injections = _doses(t, label, weight, rng, side)
        result = _check(t, PlanPatient(birth, None, weight), day, label, injections, history,
                        ref, rng)
        if result is None:
            out.dropped_plans += 1
        else:
            out.cycles.append(_cycle_rows(clinic_id, clinician, result, weight, t, rng, ref,
                                          now))
            history += (PastTreatment(day, t.product, t.indication,
                                      result.plan.total_units()),)
        day += timedelta(days=rng.randint(98, 112))
    return out


def _cycle_rows(clinic_id: int, clinician: int, result: CheckResult, weight: Decimal,
                t: Template, rng: random.Random, ref: Reference, now: datetime) -> CycleRows:
    plan = result.plan
    day = plan.date
    signed = datetime.combine(day, time(11), tzinfo=UTC)
    cycle = {"clinic_id": clinic_id, "date": day, "product": plan.product,
             "indication": plan.indication, "clinician_id": clinician, "weight_kg": weight,
             "total_units": plan.total_units(), "consent_recorded": True,
             "consent_text": CONSENT, "note": "", "status": "signed",
             "verdict": result.verdict, "reference_version": result.reference_version,
             "next_earliest_date": result.effect.next_earliest_date, "signed_by": clinician,
             "signed_at": signed, "version": 2, "created_by": clinician, "created_at": signed,
             "updated_at": signed}
    injections, vials, findings = child_rows(result, clinician, lambda: rng.choice(GUIDANCE))
    main = plan.injections[0]
    ashworth = t.scale == "modified_ashworth"
    outcomes = []
    for offset, value, text in _course(rng, t.scale):
        when = datetime.combine(day + timedelta(days=offset), time(10), tzinfo=UTC)
        if when.date() > ANCHOR:
            continue
        outcomes.append({"scale": t.scale, "value": value, "value_text": text,
                         "muscle": main.muscle if ashworth else None, "region": None,
                         "side": main.side if ashworth else None, "measured_at": when,
                         "recorded_by": clinician, "status": "active"})
    side_effects = []
    roll = rng.random()
    if roll < 0.12:
        term, severity, serious = RED_FLAG_EFFECT if roll < 0.01 and t.indication == \
            "cervical_dystonia" else rng.choice(SIDE_EFFECTS)
        side_effects.append({"term": term, "onset": day + timedelta(days=rng.randint(1, 14)),
                             "severity": severity, "serious": serious, "outcome": "recovered",
                             "relatedness": "possibly_related",
                             **_triaged(term, ref),
                             "reported_by": clinician, "reported_at": signed,
                             "status": "active"})
    weight_row = {"measured_on": day, "weight_kg": weight, "recorded_by": clinician,
                  "created_at": now}
    return CycleRows(weight_row, cycle, injections, vials, findings, outcomes, side_effects)


def _goal_text(t: Template) -> str:
    return {
        "upper_limb_spasticity": "Put on a shirt without help",
        "lower_limb_spasticity": "Walk 100 m with the orthosis",
        "cervical_dystonia": "Drive for 30 minutes without neck pain",
        "chronic_migraine": "Work a full week without a headache day off",
        "axillary_hyperhidrosis": "Wear a light shirt at work",
    }.get(t.indication, "Daily activities with less effort")
