"""The recall list of a clinic (issue 17 item 4): every patient with a given cycle, their
last cycle, earliest safe date, expected due date (``clinical.recall``: how it was
computed) and status, and their booked next visit.

Bounded: a fixed number of queries whatever the number of patients (the clinic's last
cycles grouped in the database; the durations of benefit and intervals read from the
derived analytics rows that the projection keeps current; the booked visits), no query per
patient. Staff of the clinic only; another clinic's patients are never read.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.analytics.projection import refresh, table_of
from bontrack.clinical.recall import STATUSES, recall
from bontrack.clinical.response import MIN_DURATIONS
from bontrack.errors import InvalidRecord
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import STAFF, Actor, require_role
from bontrack.services.given import GIVEN
from bontrack.services.usecase import use_case
from bontrack.store.models import AnalyticsCycle, AnalyticsResponse, Cycle, Patient, User, Visit

SORTS = ("due", "status", "last", "earliest", "name")


def _durations(session: Session, clinic_id: int) -> dict[int, tuple[list[int], str]]:
    """Per patient: the measured durations of the outcome series with the most of them
    (the first in (scale, site) order on a tie, as the patient page chooses), and its name."""
    r = table_of(AnalyticsResponse).c
    series: dict[int, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    for row in session.execute(
            select(r.patient_id, r.scale, r.site, r.duration_days)
            .where(r.clinic_id == clinic_id, r.duration_kind.in_(("measured", "diary")),
                   r.duration_days.is_not(None))):
        series[row.patient_id][(row.scale, row.site)].append(int(row.duration_days))
    out: dict[int, tuple[list[int], str]] = {}
    for pid, by in series.items():
        best = max(sorted(by.items()), key=lambda kv: len(kv[1]))
        if len(best[1]) >= MIN_DURATIONS:
            out[pid] = (best[1], f"{best[0][0]} {best[0][1]}".strip().replace("_", " "))
    return out


def _intervals(session: Session, clinic_id: int) -> dict[int, list[int]]:
    a = table_of(AnalyticsCycle).c
    out: dict[int, list[int]] = defaultdict(list)
    for row in session.execute(select(a.patient_id, a.interval_days)
                               .where(a.clinic_id == clinic_id, a.interval_days.is_not(None))):
        out[row.patient_id].append(int(row.interval_days))
    return out


def _key(sort: str) -> Any:
    rank = {s: i for i, s in enumerate(STATUSES)}

    def due(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["visit_date"] or r["expected_date"] or r["earliest_date"] or "9999",
                r["name"])

    return {"due": due,
            "status": lambda r: (rank[r["status"]], *due(r)),
            "last": lambda r: (r["last_given_date"], r["name"]),
            "earliest": lambda r: (r["earliest_date"] or "9999", r["name"]),
            "name": lambda r: (r["name"].casefold(), r["mrn"])}[sort]


@use_case()
def recall_list(session: Session, actor: Actor, ref: Reference, as_of: date,
                sort: str = "due", status: str | None = None, descending: bool = False
                ) -> dict[str, Any]:
    """The clinic's recall list as of ``as_of`` (see the module and ``clinical.recall``)."""
    require_role(actor, STAFF, "see the recall list")
    if sort not in SORTS:
        raise InvalidRecord(f"sort: must be one of {', '.join(SORTS)}, got {sort!r}",
                            field="sort")
    if status is not None and status not in STATUSES:
        raise InvalidRecord(f"status: must be one of {', '.join(STATUSES)}, got {status!r}",
                            field="status")
    cid = actor.clinic_id
    refresh(session, cid, ref=ref)
    c, p = Cycle.__table__.c, Patient.__table__.c
    last = (select(c.patient_id, func.max(c.date).label("last"),
                   func.max(c.next_earliest_date).label("earliest"))
            .where(c.clinic_id == cid, c.status == GIVEN).group_by(c.patient_id).subquery())
    patients = session.execute(
        select(p.id, p.display_name, p.mrn, last.c.last, last.c.earliest)
        .join(last, last.c.patient_id == p.id)
        .where(p.clinic_id == cid, p.status == "active")).all()
    durations = _durations(session, cid)
    intervals = _intervals(session, cid)
    v = Visit.__table__.c
    booked = {r.patient_id: r for r in session.execute(
        select(v.id, v.patient_id, v.visit_date, v.clinician_id)
        .where(v.clinic_id == cid, v.status == "booked"))}
    names = {i: n for i, n in session.execute(select(User.id, User.display_name)
                                              .where(User.clinic_id == cid))}
    rows = []
    for pid, name, mrn, last_day, earliest in patients:
        b = booked.get(pid)
        own, series = durations.get(pid, ([], ""))
        r = recall(last_day, earliest, own, intervals.get(pid, []),
                   b.visit_date if b else None, as_of, series)
        rows.append({
            "patient_id": pid, "name": name, "mrn": mrn,
            "last_given_date": last_day.isoformat(),
            "earliest_date": earliest.isoformat() if earliest else None,
            "expected_date": r.expected.isoformat() if r.expected else None,
            "window_end": r.window_end.isoformat() if r.window_end else None,
            "basis": r.basis, "status": r.status, "days_overdue": r.days_overdue,
            "missed_booking": r.missed_booking.isoformat() if r.missed_booking else None,
            "visit_id": b.id if b else None,
            "visit_date": b.visit_date.isoformat() if b else None,
            "visit_clinician": names.get(b.clinician_id, "") if b else None})
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    rows.sort(key=_key(sort), reverse=descending)
    audit.record(session, actor, "read", "recall_list", detail=f"n={len(rows)}")
    return {"as_of": as_of.isoformat(), "sort": sort, "status": status, "counts": counts,
            "total": len(rows), "items": rows}
