"""A patient's timeline: cycles, outcomes and side effects in date order."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.errors import NotFound
from bontrack.services import audit
from bontrack.services.access import Actor, can_read_patient
from bontrack.services.records import get_patient
from bontrack.services.views import (
    cycle_view,
    outcome_view,
    patient_view,
    side_effect_view,
)
from bontrack.store.models import (
    Cycle,
    CycleFinding,
    Injection,
    Outcome,
    Override,
    Patient,
    SideEffect,
    Vial,
)


def _day(x: date | datetime) -> str:
    return (x.date() if isinstance(x, datetime) else x).isoformat()


def _cycles(session: Session, patient_id: int) -> list[SimpleNamespace]:
    """Cycles with their children, read with plain SELECTs (no ORM objects): the timeline is
    the most read page, and rows are several times cheaper than mapped instances."""
    rows = session.execute(select(Cycle.__table__).where(Cycle.patient_id == patient_id)).all()
    cycles = {r.id: SimpleNamespace(**r._mapping, injections=[], vials=[], findings=[],
                                    overrides=[]) for r in rows}
    if not cycles:
        return []
    ids = list(cycles)
    for model, attr in ((Injection, "injections"), (Vial, "vials"),
                        (CycleFinding, "findings"), (Override, "overrides")):
        table = model.__table__
        for r in session.execute(select(table).where(table.c.cycle_id.in_(ids))
                                 .order_by(table.c.id)):
            getattr(cycles[r.cycle_id], attr).append(r)
    return list(cycles.values())


def timeline(session: Session, actor: Actor, patient_id: int, audit_read: bool = True
             ) -> dict[str, Any]:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    cycles = _cycles(session, patient.id)
    outcomes = session.execute(
        select(Outcome.__table__).where(Outcome.patient_id == patient.id)).all()
    effects = session.execute(
        select(SideEffect.__table__).where(SideEffect.patient_id == patient.id)).all()
    events: list[tuple[str, int, dict[str, Any]]] = []
    events += [(_day(c.date), 0, {"kind": "cycle", **cycle_view(c)})  # type: ignore[arg-type]
               for c in cycles]
    events += [(_day(o.measured_at), 1, {"kind": "outcome", **outcome_view(o)})  # type: ignore[arg-type]
               for o in outcomes]
    events += [(_day(e.onset), 2, {"kind": "side_effect", **side_effect_view(e)})  # type: ignore[arg-type]
               for e in effects]
    events.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    live = [c for c in cycles if c.status != "entered_in_error"]
    last = max(live, key=lambda c: c.date) if live else None
    if audit_read:
        audit.record(session, actor, "read", "timeline", patient_id=patient.id,
                     detail=f"n={len(events)}")
    return {
        "patient": patient_view(patient),
        "next_earliest_date": (last.next_earliest_date.isoformat()
                               if last and last.next_earliest_date else None),
        "events": [{"date": d, **e} for d, _, e in events],
    }


class _Cache:
    """A small LRU of serialised timelines, keyed by (patient, record_version). The version
    is read from the database in the request's own transaction, so a cached view is used
    only while no write (from any process) has touched the record."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.items: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> bytes | None:
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key: tuple[int, int], value: bytes) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


CACHE = _Cache()


def timeline_json(session: Session, actor: Actor, patient_id: int) -> bytes:
    """The timeline as JSON bytes, built once per version of the patient's record."""
    row = session.execute(
        select(Patient.id, Patient.clinic_id, Patient.record_version)
        .where(Patient.id == patient_id)
    ).first()
    if row is None:
        raise NotFound(f"patient {patient_id} not found")
    can_read_patient(actor, row)  # type: ignore[arg-type]
    key = (row.id, row.record_version)
    body = CACHE.get(key)
    if body is None:
        body = json.dumps(timeline(session, actor, patient_id, audit_read=False),
                          ensure_ascii=False, separators=(",", ":")).encode()
        CACHE.put(key, body)
    audit.record(session, actor, "read", "timeline", patient_id=patient_id)
    return body
