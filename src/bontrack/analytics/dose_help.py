"""Dose help for one muscle (issue 17): what ``clinical.dose_help`` needs, read from the
store for one patient, with the reader's access checked.

- the patient's given (signed) cycles only; a cycle entered in error, or a draft, never
  counts; outcomes entered in error are left out of the responses;
- the clinic's median from the reader's own clinic's signed records only, of the chosen
  product, indication and the label population of this patient (adult doses are not
  a child's); another clinic's records are never read;
- staff only (admin, clinician, nurse): the clinic median is the clinic's, not a patient's.

Read-only: it writes nothing but the audit event of the read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.analytics.patient import load_rows, series_of
from bontrack.clinical.dose_help import ClinicDose, DoseHelp, PastDose, ResponseSeen, dose_help
from bontrack.clinical.units import format_amount
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import STAFF, Actor, require_role
from bontrack.services.given import GIVEN
from bontrack.services.records import get_patient
from bontrack.services.usecase import use_case
from bontrack.store.models import Cycle, Injection, Patient


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _responses(session: Session, ref: Reference, patient_id: int
               ) -> dict[int, list[ResponseSeen]]:
    """Per given cycle id: the response of every outcome series of the patient."""
    rows = load_rows(session, [patient_id])[patient_id]
    out: dict[int, list[ResponseSeen]] = defaultdict(list)
    for scale, site, cycles, responses in series_of(rows, ref.scales):
        words = site.split(" ") if site else []
        muscle = words[0] if words and words[0] in ref.muscles else None
        side = words[-1] if words and words[-1] in ("left", "right", "midline") else None
        defined = ref.scales.get(scale)
        name = defined.name if defined is not None else scale
        for c, r in zip(cycles, responses, strict=True):
            out[c.id].append(ResponseSeen(
                scale=name, muscle=muscle, side=side, baseline=r.baseline, best=r.best,
                responder=r.responder, duration_days=r.duration_days,
                duration_kind=r.duration_kind, unknown_reason=r.unknown_reason))
    return out


def _per_side(rows: Any) -> dict[tuple[int, str], list[Any]]:
    """Rows of one cycle's injections in the muscle, grouped by (cycle, side): a muscle
    injected in two rows on one side is one dose."""
    grouped: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for r in rows:
        grouped[(r.cycle_id, r.side)].append(r)
    return grouped


def _history(session: Session, ref: Reference, patient_id: int, muscle: str
             ) -> list[PastDose]:
    inj = Injection.__table__.c
    rows = session.execute(
        select(inj.cycle_id, inj.side, inj.units, inj.sites, Cycle.date, Cycle.product,
               Cycle.indication)
        .join(Cycle, Cycle.id == inj.cycle_id)
        .where(Cycle.patient_id == patient_id, Cycle.status == GIVEN, inj.muscle == muscle)
    ).all()
    if not rows:
        return []
    responses = _responses(session, ref, patient_id)
    out = []
    for (cycle_id, side), group in _per_side(rows).items():
        first = group[0]
        out.append(PastDose(
            day=first.date, product=first.product, indication=first.indication, side=side,
            units=sum((Decimal(g.units) for g in group), Decimal(0)),
            sites=sum(int(g.sites) for g in group),
            responses=tuple(responses.get(cycle_id, ()))))
    return out


def _clinic(session: Session, ref: Reference, actor: Actor, product: str, indication: str,
            muscle: str, age: int) -> list[ClinicDose]:
    """The clinic's signed doses of the product in the muscle for the indication, of
    patients (at the cycle's date) in the same label population as this patient."""
    lab = ref.label_for_age(product, indication, age)
    inj = Injection.__table__.c
    rows = session.execute(
        select(inj.cycle_id, inj.side, inj.units, Cycle.patient_id, Cycle.date,
               Patient.birth_date)
        .join(Cycle, Cycle.id == inj.cycle_id)
        .join(Patient, Patient.id == Cycle.patient_id)
        .where(Cycle.clinic_id == actor.clinic_id, Patient.clinic_id == actor.clinic_id,
               Cycle.status == GIVEN, Cycle.product == product,
               Cycle.indication == indication, inj.muscle == muscle)
    ).all()
    out = []
    for group in _per_side(rows).values():
        first = group[0]
        if lab is not None:
            then = age_on(first.birth_date, first.date)
            if then < lab.ages.min or (lab.ages.max is not None and then > lab.ages.max):
                continue
        out.append(ClinicDose(first.patient_id, product,
                              sum((Decimal(g.units) for g in group), Decimal(0))))
    return out


@use_case()
def muscle_dose_help(session: Session, actor: Actor, patient_id: int, ref: Reference, *,
                     product: str, indication: str, muscle: str, side: str | None,
                     weight_kg: Decimal | None, as_of: date) -> DoseHelp:
    """The dose help for one muscle of one patient, on ``as_of`` (the patient's age then;
    the weight given, else the patient's last recorded weight). Product, indication and
    muscle may be given by id, name or synonym."""
    patient = get_patient(session, actor, patient_id, audit_read=False)
    require_role(actor, STAFF, "read dose help (the clinic's doses)")
    product = ref.product_id(product) or product
    indication = ref.indication_id(indication) or indication
    muscle = ref.muscle_id(muscle) or muscle
    age = age_on(patient.birth_date, as_of)
    weight_note = None
    if weight_kg is None and patient.weights:
        last = patient.weights[-1]
        weight_kg = Decimal(last.weight_kg)
        weight_note = (f"Weight: the last recorded, {format_amount(weight_kg)} kg on "
                       f"{last.measured_on.isoformat()} (type the weight on the form to use "
                       "another).")
    known = muscle in ref.muscles and product in ref.products and indication in ref.indications
    history = _history(session, ref, patient.id, muscle) if known else []
    clinic = (_clinic(session, ref, actor, product, indication, muscle, age)
              if known else [])
    found = dose_help(ref, product=product, indication=indication, muscle=muscle, side=side,
                      age_years=age, weight_kg=weight_kg, history=history, clinic=clinic)
    if weight_note is not None:
        found = replace(found, notes=(*found.notes, weight_note))
    audit.record(session, actor, "read", "dose_help", patient_id=patient.id,
                 detail=f"{product} {indication} {muscle}")
    return found
