"""A patient's timeline: cycles, outcomes and side effects in date order."""

from __future__ import annotations

import json
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bontrack.errors import BontrackError, NotFound
from bontrack.services import accounts, audit
from bontrack.services.access import Actor, can_read_patient
from bontrack.services.cache import LRU
from bontrack.services.given import is_given, was_given
from bontrack.services.records import get_patient
from bontrack.services.schemas import holds_id
from bontrack.services.usecase import use_case
from bontrack.services.views import (
    cycle_view,
    outcome_view,
    patient_view,
    side_effect_view,
)
from bontrack.store.kept_pg import Vouch
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
from bontrack.store.uow import Database


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


@use_case()
def timeline(session: Session, actor: Actor, patient_id: int, audit_read: bool = True
             ) -> dict[str, Any]:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    cycles = _cycles(session, patient.id)
    if actor.role == "patient":  # a plan (draft) is not shown to the patient as given
        cycles = [c for c in cycles if was_given(c)]
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
    given = [c for c in cycles if is_given(c)]
    last = max(given, key=lambda c: (c.date, c.id)) if given else None
    if audit_read:
        audit.record(session, actor, "read", "timeline", patient_id=patient.id,
                     detail=f"n={len(events)}")
    return {
        "patient": patient_view(patient),
        "next_earliest_date": (last.next_earliest_date.isoformat()
                               if last and last.next_earliest_date else None),
        "last_given_date": last.date.isoformat() if last else None,
        "last_given": ({"product": last.product, "indication": last.indication}
                       if last else None),
        "events": [{"date": d, **e} for d, _, e in events],
    }


CACHE: LRU[tuple[int, int, bool], bytes] = LRU(512)


def _cache_key(patient_id: int, version: int, actor: Actor) -> tuple[int, int, bool]:
    """A built timeline's key: the patient, the record's version, and whether the reader is
    the patient (who is not shown plans as given)."""
    return patient_id, version, actor.role == "patient"


#: The version lookup of every timeline GET, built once (see ``accounts.TOKEN_LOOKUP``).
_PATIENTS = Patient.__table__
VERSION_LOOKUP = (
    select(_PATIENTS.c.id, _PATIENTS.c.clinic_id, _PATIENTS.c.record_version)
    .where(_PATIENTS.c.id == bindparam("patient_id"))
)


#: A timeline GET in one statement: the token's account (``accounts.TOKEN_COLUMNS``) and
#: the patient's clinic and record version, read together on one snapshot.
LEAN_LOOKUP = (
    select(*accounts.TOKEN_COLUMNS, _PATIENTS.c.id.label("patient"),
           _PATIENTS.c.clinic_id.label("patient_clinic"), _PATIENTS.c.record_version)
    .select_from(accounts.TOKEN_JOIN.outerjoin(
        _PATIENTS, _PATIENTS.c.id == bindparam("patient_id")))
    .where(bindparam("digest") == accounts.TOKEN_DIGEST)
)


class LaneView(NamedTuple):
    """What of a ``LEAN_LOOKUP`` row holds until the database changes (``lane_view``)."""

    row: Any
    actor: Actor
    key: tuple[int, int, bool]  # the built answer's (``_cache_key``)


def lane_view(row: Any) -> LaneView | None:
    """The actor of a found token and the key of the answer, when the patient exists and
    the account may read them; None otherwise. A function of the row alone, so the
    database may keep it (``Database.lookup``); whether the token is usable now is not:
    the caller asks that every time (``accounts.quietly_usable``)."""
    if (row is None or row.id is None or row.record_version is None or row.revoked
            or row.disabled or row.purpose != "session"):
        return None  # refused by the route whatever the time: nothing worth keeping
    actor = accounts.actor_of(row)
    try:
        can_read_patient(actor, SimpleNamespace(id=row.patient,  # type: ignore[arg-type]
                                                clinic_id=row.patient_clinic))
    except BontrackError:
        return None
    return LaneView(row, actor, _cache_key(row.patient, int(row.record_version), actor))


class LaneAnswer(NamedTuple):
    """A timeline GET the fast lane may answer: the body, the read's audit event, and the
    vouch for the kept lookup it relied on (``Database.lookup``), all of which the caller
    must have committed (``Database.record_reads``) before it answers."""

    body: bytes
    events: list[dict[str, Any]]
    vouches: tuple[Vouch, ...]


async def cached_timeline(db: Database, token: str, patient_id: int) -> LaneAnswer | None:
    """The common timeline GET in one indexed statement and no transaction, on the event
    loop (``Database.lookup``: on SQLite a local statement, whose answer is kept while no
    other connection commits; on a server database one of the loop's own connections,
    whose answer is kept and checked again by the statement that commits the read's
    event): a usable token whose use needs no recording, a patient the account may read,
    and the answer already built for this version of the record. Returns the answer, or
    None when anything else holds: the full path (``timeline_json``) then answers,
    refuses or records, exactly as it always did. Nothing is written here."""
    if not holds_id(patient_id):
        return None
    digest = accounts.token_digest(token)
    view, vouch = await db.lookup(LEAN_LOOKUP, lane_view, digest=digest,
                                  patient_id=patient_id)
    if view is None:
        return None
    if not accounts.quietly_usable(view.row):  # the full path refuses, or records the use:
        if vouch is not None:  # a row kept from before then would keep failing here
            db.forget(LEAN_LOOKUP, lane_view, digest=digest, patient_id=patient_id)
        return None
    body = CACHE.get(view.key)
    if body is None:
        return None
    return LaneAnswer(body, [audit.event_row(view.actor, "read", "timeline",
                                             patient_id=patient_id)],
                      () if vouch is None else (vouch,))


@use_case()
def record_version(session: Session, actor: Actor, patient_id: int) -> int:
    """The patient's record version, after the access check (one small query)."""
    row = session.connection().execute(
        VERSION_LOOKUP, {"patient_id": patient_id}).first() if holds_id(patient_id) else None
    if row is None:
        raise NotFound(f"patient {patient_id} not found")
    can_read_patient(actor, row)  # type: ignore[arg-type]
    return int(row.record_version)


@use_case()
def timeline_json(session: Session, actor: Actor, patient_id: int) -> bytes:
    """The timeline as JSON bytes, built once per version of the patient's record."""
    key = _cache_key(patient_id, record_version(session, actor, patient_id), actor)
    body = CACHE.get(key)
    if body is None:
        body = json.dumps(timeline(session, actor, patient_id, audit_read=False),
                          ensure_ascii=False, separators=(",", ":")).encode()
        CACHE.put(key, body)
    audit.record(session, actor, "read", "timeline", patient_id=patient_id)
    return body
