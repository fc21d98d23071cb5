"""What the planner, the record forms and the leaflet need to start from: the clinic's
clinicians, the patient's active conditions, the last cycle given and the cycles a
measurement can belong to. Each checks the reader's access to the patient first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.services import given
from bontrack.services.access import Actor
from bontrack.services.records import get_patient
from bontrack.services.usecase import use_case
from bontrack.services.views import cycle_view
from bontrack.store.models import Condition, Cycle, User


@use_case()
def clinicians(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The clinic's active clinicians (who may sign a cycle), as id and name."""
    rows = session.scalars(select(User).where(User.clinic_id == actor.clinic_id,
                                              User.role == "clinician",
                                              User.disabled.is_(False)))
    return [{"id": u.id, "display_name": u.display_name} for u in rows]


@use_case()
def active_indications(session: Session, actor: Actor, patient_id: int) -> list[str]:
    """The indications of the patient's active conditions, oldest first."""
    get_patient(session, actor, patient_id, audit_read=False)
    return list(session.scalars(select(Condition.indication).where(
        Condition.patient_id == patient_id, Condition.status == "active")
        .order_by(Condition.id)))


@use_case()
def last_given(session: Session, actor: Actor, patient_id: int) -> dict[str, Any] | None:
    """The patient's last cycle given (signed), as its view; drafts are plans, not given."""
    get_patient(session, actor, patient_id, audit_read=False)
    last = session.scalars(select(Cycle).where(Cycle.patient_id == patient_id,
                                               Cycle.status == given.GIVEN)
                           .order_by(Cycle.date.desc(), Cycle.id.desc()).limit(1)).first()
    return cycle_view(last) if last is not None else None


@use_case()
def cycle_choices(session: Session, actor: Actor, patient_id: int) -> list[dict[str, Any]]:
    """The patient's cycles, newest first, as a measurement form lists them."""
    get_patient(session, actor, patient_id, audit_read=False)
    rows = session.execute(select(Cycle.id, Cycle.date, Cycle.product)
                           .where(Cycle.patient_id == patient_id)
                           .order_by(Cycle.date.desc(), Cycle.id.desc()))
    return [{"id": r.id, "date": r.date, "product": r.product} for r in rows]


@use_case()
def user_names(session: Session, actor: Actor, ids: set[int | None]) -> dict[int, str]:
    """The names of the people who signed, overrode or amended a record, for the record's
    page: only users of the reader's own clinic (another clinic's user stays a number)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name, User.role).where(
        User.id.in_(wanted), User.clinic_id == actor.clinic_id))
    return {r.id: f"{r.display_name} ({r.role})" for r in rows}
