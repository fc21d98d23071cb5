"""A patient's timeline: cycles, outcomes and side effects in date order."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bontrack.services import audit
from bontrack.services.access import Actor
from bontrack.services.records import get_patient
from bontrack.services.views import (
    cycle_view,
    outcome_view,
    patient_view,
    side_effect_view,
)
from bontrack.store.models import Cycle, Outcome, SideEffect


def _day(x: date | datetime) -> str:
    return (x.date() if isinstance(x, datetime) else x).isoformat()


def timeline(session: Session, actor: Actor, patient_id: int) -> dict[str, Any]:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    cycles = session.scalars(
        select(Cycle).where(Cycle.patient_id == patient.id)
        .options(selectinload(Cycle.injections), selectinload(Cycle.vials),
                 selectinload(Cycle.findings), selectinload(Cycle.overrides))
    ).all()
    outcomes = session.scalars(select(Outcome).where(Outcome.patient_id == patient.id)).all()
    effects = session.scalars(select(SideEffect).where(SideEffect.patient_id == patient.id)).all()
    events: list[tuple[str, int, dict[str, Any]]] = []
    events += [(_day(c.date), 0, {"kind": "cycle", **cycle_view(c)}) for c in cycles]
    events += [(_day(o.measured_at), 1, {"kind": "outcome", **outcome_view(o)})
               for o in outcomes]
    events += [(_day(s.onset), 2, {"kind": "side_effect", **side_effect_view(s)})
               for s in effects]
    events.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    live = [c for c in cycles if c.status != "entered_in_error"]
    last = max(live, key=lambda c: c.date) if live else None
    audit.record(session, actor, "read", "timeline", patient_id=patient.id,
                 detail=f"n={len(events)}")
    return {
        "patient": patient_view(patient),
        "next_earliest_date": (last.next_earliest_date.isoformat()
                               if last and last.next_earliest_date else None),
        "events": [{"date": d, **e} for d, _, e in events],
    }
