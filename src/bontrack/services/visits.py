"""The next visit (issue 17 item 4): book it on the cycle (a day and a clinician of the
clinic), reschedule or cancel it with a reason, show it to the patient and give it as an
iCalendar file.

Decision support, not a scheduler of treatment: a booking before the earliest safe date
(the label's minimum retreatment interval counted from the patient's given cycles, stored
with each cycle by the plan check) is refused unless a clinician gives a reason, which is
kept with the booking and audited. Bookings are never deleted: a cancelled one keeps its
row, a rescheduled one is replaced by a new row with the same calendar UID.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.errors import AccessDenied, Conflict, InvalidRecord, NotFound
from bontrack.icalendar import Event, calendar
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import (
    CLINICAL_WRITERS,
    Actor,
    can_read_patient,
    can_write_clinical,
    require_role,
)
from bontrack.services.given import GIVEN, today
from bontrack.services.records import check_version, get_patient
from bontrack.services.schemas import VisitCancelIn, VisitChangeIn, VisitIn, holds_id
from bontrack.services.usecase import use_case
from bontrack.store.models import Clinic, Cycle, Patient, User, Visit

#: Only a clinician books a visit before the earliest safe date (with a reason), as only a
#: clinician overrides a stop finding of the plan check.
OVERRIDERS = ("clinician",)


@dataclass(frozen=True)
class Earliest:
    """The earliest safe date for the next cycle and where it comes from."""

    day: date | None
    source: str
    last_given: date | None


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def earliest_safe(session: Session, patient: Patient, ref: Reference) -> Earliest:
    """The latest earliest-safe date stored with the patient's given cycles (each cycle's
    plan check counted it from the label's minimum retreatment interval), with its source."""
    c = Cycle.__table__.c
    last = session.scalar(select(c.date).where(c.patient_id == patient.id, c.status == GIVEN)
                          .order_by(c.date.desc()).limit(1))
    row = session.execute(
        select(c.date, c.product, c.indication, c.next_earliest_date, c.reference_version)
        .where(c.patient_id == patient.id, c.status == GIVEN,
               c.next_earliest_date.is_not(None))
        .order_by(c.next_earliest_date.desc(), c.id.desc()).limit(1)).first()
    if row is None:
        why = ("no cycle has been given yet" if last is None else
               "the reference data holds no minimum retreatment interval for the product "
               "and indication of the given cycles")
        return Earliest(None, f"No earliest safe date: {why}.", last)
    product = ref.products.get(row.product)
    brand = product.brands[0] if product else row.product
    label = ref.label_for_age(row.product, row.indication, _age(patient.birth_date, row.date))
    interval = label.retreatment_min_interval if label else None
    if interval is not None:
        source = (f"{interval.describe()} after the cycle of {row.date.isoformat()} ({brand}): "
                  f"{ref.citation(interval.source.document, interval.source.section)}")
    else:
        source = (f"stored with the cycle of {row.date.isoformat()} ({brand}) by its plan "
                  f"check (reference data {row.reference_version})")
    return Earliest(row.next_earliest_date, source, last)


def visit_view(v: Visit, clinician: str = "") -> dict[str, Any]:
    return {"id": v.id, "patient_id": v.patient_id, "visit_date": v.visit_date.isoformat(),
            "clinician_id": v.clinician_id, "clinician": clinician, "status": v.status,
            "earliest_date": v.earliest_date.isoformat() if v.earliest_date else None,
            "earliest_source": v.earliest_source, "override_reason": v.override_reason,
            "note": v.note, "replaces_id": v.replaces_id, "sequence": v.sequence,
            "created_at": v.created_at.isoformat(),
            "ended_at": v.ended_at.isoformat() if v.ended_at else None,
            "ended_reason": v.ended_reason, "version": v.version}


def _clinician(session: Session, actor: Actor, clinician_id: int) -> User:
    u = session.get(User, clinician_id) if holds_id(clinician_id) else None
    if (u is None or u.clinic_id != actor.clinic_id or u.role != "clinician"
            or u.disabled):
        raise InvalidRecord(f"clinician_id: {clinician_id} is not a clinician of this clinic",
                            field="clinician_id")
    return u


def _check_day(actor: Actor, day: date, earliest: Earliest, override: str | None,
               as_of: date) -> str | None:
    """The override reason kept with the booking (None when the day needs none)."""
    if day < as_of:
        raise InvalidRecord(f"visit_date: {day.isoformat()} is before today "
                            f"({as_of.isoformat()}); a visit is booked ahead",
                            field="visit_date")
    if earliest.day is None or day >= earliest.day:
        return None
    if not override:
        raise InvalidRecord(
            f"visit_date: {day.isoformat()} is before the earliest safe date "
            f"{earliest.day.isoformat()} ({earliest.source}). Choose a day on or after it, "
            "or a clinician gives an override_reason", field="visit_date")
    if actor.role not in OVERRIDERS:
        raise AccessDenied(f"a {actor.role} may not book a visit before the earliest safe "
                           "date: a clinician decides that", entity="visit")
    return override


def _booked(session: Session, patient_id: int) -> Visit | None:
    return session.scalar(select(Visit).where(Visit.patient_id == patient_id,
                                              Visit.status == "booked")
                          .order_by(Visit.id.desc()).limit(1))


def _name(session: Session, user_id: int) -> str:
    u = session.get(User, user_id)
    return (u.display_name or u.username) if u else ""


@use_case()
def book_visit(session: Session, actor: Actor, patient_id: int, body: VisitIn,
               ref: Reference) -> dict[str, Any]:
    """Book the patient's next visit; refused while another booking is open (reschedule
    or cancel that one) and before the earliest safe date without a clinician's reason."""
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "book visits")
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    open_ = _booked(session, patient.id)
    if open_ is not None:
        raise Conflict(f"visit {open_.id} on {open_.visit_date.isoformat()} is already booked "
                       "for this patient: reschedule or cancel it", field="visit_date")
    clinician = _clinician(session, actor, body.clinician_id)
    earliest = earliest_safe(session, patient, ref)
    override = _check_day(actor, body.visit_date, earliest, body.override_reason, today())
    v = Visit(patient_id=patient.id, clinic_id=patient.clinic_id, visit_date=body.visit_date,
              clinician_id=clinician.id, status="booked", earliest_date=earliest.day,
              earliest_source=earliest.source, override_reason=override, note=body.note,
              uid=f"{uuid.uuid4().hex}@bontrack", sequence=0, created_by=actor.user_id,
              created_at=audit.now(), version=1)
    session.add(v)
    session.flush()
    audit.record(session, actor, "create", "visit", v.id, patient.id,
                 detail=f"booked {v.visit_date.isoformat()} with user {clinician.id}"
                 + (f"; before the earliest safe date: {override}" if override else ""))
    return visit_view(v, clinician.display_name or clinician.username)


def _open_visit(session: Session, actor: Actor, patient_id: int) -> tuple[Visit, Patient]:
    """The patient's booked next visit, for a change (staff who write clinical records)."""
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "change visits")
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    v = _booked(session, patient.id)
    if v is None:
        raise NotFound(f"patient {patient_id} has no booked next visit")
    return v, patient


@use_case()
def reschedule_visit(session: Session, actor: Actor, patient_id: int, body: VisitChangeIn,
                     if_match: int | None, ref: Reference) -> dict[str, Any]:
    """A new day and/or clinician for the booked next visit: the booking is replaced by a
    new row (same calendar UID, next SEQUENCE); the old row is kept as ``replaced`` with
    the reason."""
    v, patient = _open_visit(session, actor, patient_id)
    check_version(v.version, if_match if if_match is not None else body.version,
                  f"visit {v.id}")
    day = body.visit_date or v.visit_date
    clinician = _clinician(session, actor, body.clinician_id or v.clinician_id)
    earliest = earliest_safe(session, patient, ref)
    override = _check_day(actor, day, earliest, body.override_reason, today())
    now = audit.now()
    v.status, v.ended_by, v.ended_at, v.ended_reason = "replaced", actor.user_id, now, body.reason
    v.version += 1
    new = Visit(patient_id=patient.id, clinic_id=patient.clinic_id, visit_date=day,
                clinician_id=clinician.id, status="booked", earliest_date=earliest.day,
                earliest_source=earliest.source, override_reason=override,
                note=v.note if body.note is None else body.note, uid=v.uid,
                sequence=v.sequence + 1, replaces_id=v.id, created_by=actor.user_id,
                created_at=now, version=1)
    session.add(new)
    session.flush()
    audit.record(session, actor, "update", "visit", new.id, patient.id,
                 detail=f"rescheduled visit {v.id} to {day.isoformat()} with user "
                 f"{clinician.id}: {body.reason}"
                 + (f"; before the earliest safe date: {override}" if override else ""))
    return visit_view(new, clinician.display_name or clinician.username)


@use_case()
def cancel_visit(session: Session, actor: Actor, patient_id: int, body: VisitCancelIn,
                 if_match: int | None) -> dict[str, Any]:
    """Cancel the booked next visit, with a reason; the row is kept as ``cancelled``."""
    v, patient = _open_visit(session, actor, patient_id)
    check_version(v.version, if_match if if_match is not None else body.version,
                  f"visit {v.id}")
    v.status, v.ended_by, v.ended_at, v.ended_reason = ("cancelled", actor.user_id,
                                                        audit.now(), body.reason)
    v.version += 1
    session.flush()
    audit.record(session, actor, "update", "visit", v.id, patient.id,
                 detail=f"cancelled: {body.reason}")
    return visit_view(v, _name(session, v.clinician_id))


@use_case()
def clinicians(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The clinic's clinicians who can be booked (enabled accounts), for the booking form."""
    require_role(actor, CLINICAL_WRITERS, "book visits")
    return [(u.id, u.display_name or u.username) for u in session.scalars(
        select(User).where(User.clinic_id == actor.clinic_id, User.role == "clinician",
                           User.disabled.is_(False)).order_by(User.display_name, User.id))]


@use_case()
def visits(session: Session, actor: Actor, patient_id: int, ref: Reference,
           audit_read: bool = True) -> dict[str, Any]:
    """The patient's booked next visit (or none), every booking kept (newest first) and
    the earliest safe date with its source. The patient reads their own."""
    patient = get_patient(session, actor, patient_id, audit_read=False)
    rows = session.scalars(select(Visit).where(Visit.patient_id == patient.id)
                           .order_by(Visit.id.desc()).limit(200)).all()
    names = {i: n for i, n in session.execute(
        select(User.id, User.display_name).where(
            User.id.in_({r.clinician_id for r in rows})))} if rows else {}
    earliest = earliest_safe(session, patient, ref)
    if audit_read:
        audit.record(session, actor, "read", "visits", patient_id=patient.id)
    views = [visit_view(r, names.get(r.clinician_id, "")) for r in rows]
    nxt = next((x for x in views if x["status"] == "booked"), None)
    return {"patient_id": patient.id, "next_visit": nxt,
            "earliest_date": earliest.day.isoformat() if earliest.day else None,
            "earliest_source": earliest.source,
            "last_given_date": earliest.last_given.isoformat() if earliest.last_given else None,
            "history": views}


@use_case()
def next_visit_calendar(session: Session, actor: Actor, patient_id: int) -> tuple[str, str]:
    """The booked next visit as an iCalendar file: (file name, text). Not found when no
    visit is booked."""
    patient = session.get(Patient, patient_id) if holds_id(patient_id) else None
    if patient is None:
        raise NotFound(f"patient {patient_id} not found")
    can_read_patient(actor, patient)
    v = _booked(session, patient.id)
    if v is None:
        raise NotFound(f"patient {patient_id} has no booked next visit")
    clinic = session.get(Clinic, v.clinic_id)
    who = _name(session, v.clinician_id)
    text = calendar([Event(
        uid=v.uid, day=v.visit_date, sequence=v.sequence,
        summary="Botulinum toxin treatment visit",
        description=f"Next visit with {who}" + (f". {v.note}" if v.note else ""),
        location=clinic.name if clinic else "")], audit.now())
    audit.record(session, actor, "read", "visit_calendar", v.id, patient.id)
    return f"next-visit-{v.visit_date.isoformat()}.ics", text
