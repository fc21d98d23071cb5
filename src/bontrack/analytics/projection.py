"""The projection: the only code that writes derived analytics rows. A patient's rows
(``analytics_cycles``, ``analytics_responses``, ``analytics_effects``) are rebuilt whenever
the patient's ``record_version`` differs from the version they were built from, and the
daily roll-ups (``analytics_daily_*``) of the days they touch are recomputed, so a clinic
query always sees the current record. Derived rows are never entered by anyone and are the
only rows this package deletes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session

#: Roles that see clinic-wide figures (clinic leads and clinicians; never patients).
from bontrack.analytics.patient import CHUNK, load_rows, series_of
from bontrack.clinical.scales import Scales
from bontrack.reference import Reference, default_reference
from bontrack.services.usecase import use_case
from bontrack.store.models import (
    AnalyticsCycle,
    AnalyticsEffect,
    AnalyticsResponse,
    AnalyticsVersion,
    Clinic,
    Cycle,
    DailyCycles,
    DailyEffects,
    DailyIntervals,
    DailyResponders,
    DailyResponses,
    Patient,
    SideEffect,
    Vial,
)

# -- derived rows ------------------------------------------------------------------------


DERIVED = (AnalyticsCycle, AnalyticsResponse, AnalyticsEffect)


def table_of(model: Any) -> Table:
    return cast(Table, model.__table__)


def _days_of(session: Session, patient_ids: Sequence[int]) -> set[tuple[int, date]]:
    """(clinic, day) of every derived row of these patients."""
    out: set[tuple[int, date]] = set()
    for model in DERIVED:
        t = table_of(model)
        out |= {(r[0], r[1]) for r in session.execute(
            select(t.c.clinic_id, t.c.date).where(t.c.patient_id.in_(patient_ids))
            .distinct())}
    return out


def _rebuild(session: Session, patient_ids: Sequence[int], scales: Scales
             ) -> set[tuple[int, date]]:
    """Recompute the per-cycle rows of these patients; returns the (clinic, day) pairs whose
    daily roll-ups must be recomputed (days of the old rows and of the new)."""
    days = _days_of(session, patient_ids)
    for model in (*DERIVED, AnalyticsVersion):
        t = table_of(model)
        session.execute(delete(t).where(t.c.patient_id.in_(patient_ids)))
    loaded = load_rows(session, patient_ids)
    v = Vial.__table__.c
    c_ = Cycle.__table__.c
    vials: dict[int, list[Any]] = defaultdict(list)
    for rv in session.execute(select(v.cycle_id, v.size_units, v.units_discarded)
                              .join(Cycle.__table__, c_.id == v.cycle_id)
                              .where(c_.patient_id.in_(patient_ids))):
        vials[rv.cycle_id].append(rv)
    se = SideEffect.__table__.c
    terms: dict[int, set[str]] = defaultdict(set)
    for rt in session.execute(select(se.cycle_id, se.term).where(
            se.patient_id.in_(patient_ids), se.status == "active",
            se.cycle_id.is_not(None))):
        terms[rt.cycle_id].add(rt.term.strip().lower()[:200])
    cycle_rows: list[dict[str, Any]] = []
    response_rows: list[dict[str, Any]] = []
    effect_rows: list[dict[str, Any]] = []
    for rows in loaded.values():
        by_indication: dict[str, list[Any]] = defaultdict(list)
        for c in sorted(rows.cycles, key=lambda c: (c.date, c.id)):
            by_indication[c.indication].append(c)
            group = {"cycle_id": c.id, "patient_id": c.patient_id, "clinic_id": c.clinic_id,
                     "date": c.date, "product": c.product, "indication": c.indication,
                     "clinician_id": c.clinician_id}
            effect_rows += [{**group, "term": term} for term in sorted(terms.get(c.id, ()))]
        for cycles in by_indication.values():
            prev = None
            for c in cycles:
                vs = vials.get(c.id, [])
                discarded = [x.units_discarded for x in vs if x.units_discarded is not None]
                cycle_rows.append({
                    "cycle_id": c.id, "patient_id": c.patient_id, "clinic_id": c.clinic_id,
                    "date": c.date, "product": c.product, "indication": c.indication,
                    "clinician_id": c.clinician_id,
                    "interval_days": (c.date - prev.date).days if prev else None,
                    "early": (c.date < prev.next_earliest_date
                              if prev and prev.next_earliest_date else None),
                    "units_discarded": sum(discarded, Decimal(0)) if discarded else None,
                    "units_opened": sum((x.size_units for x in vs), Decimal(0)),
                    "vials": len(vs)})
                prev = c
        for scale, site, cycles, responses in series_of(rows, scales):
            for c, r in zip(cycles, responses, strict=True):
                response_rows.append({
                    "cycle_id": c.id, "patient_id": c.patient_id, "clinic_id": c.clinic_id,
                    "date": c.date, "product": c.product, "indication": c.indication,
                    "clinician_id": c.clinician_id, "scale": scale, "site": site[:80],
                    "responder": r.responder, "improvement": r.improvement,
                    "duration_days": r.duration_days, "duration_kind": r.duration_kind})
    for model, new in ((AnalyticsCycle, cycle_rows), (AnalyticsResponse, response_rows),
                       (AnalyticsEffect, effect_rows)):
        if new:
            session.execute(insert(table_of(model)), new)
    return days | {(r["clinic_id"], r["date"]) for r in cycle_rows}


GROUP = ("clinic_id", "date", "indication", "product", "clinician_id")


def _roll_up(session: Session, clinic_id: int, days: Sequence[date]) -> None:
    """Recompute the daily roll-ups of one clinic for ``days`` from the per-cycle rows."""
    def rows(model: Any, keys: tuple[str, ...], measures: dict[str, Any]) -> Any:
        t = table_of(model)
        cols = [t.c[k] for k in (*GROUP, *keys)]
        return (select(*cols, *[m(t).label(n) for n, m in measures.items()])
                .where(t.c.clinic_id == clinic_id, t.c.date.in_(days)).group_by(*cols))

    plan: tuple[tuple[Any, Any, tuple[str, ...], dict[str, Any]], ...] = (
        (DailyCycles, AnalyticsCycle, (), {
            "cycles": lambda t: func.count(),
            "units_discarded": lambda t: func.sum(t.c.units_discarded),
            "units_opened": lambda t: func.sum(t.c.units_opened),
            "vials": lambda t: func.sum(t.c.vials)}),
        (DailyResponses, AnalyticsResponse, ("scale", "responder", "duration_kind",
                                             "duration_days"), {"n": lambda t: func.count()}),
        (DailyResponders, AnalyticsResponse, ("scale", "responder"),
         {"n": lambda t: func.count()}),
        (DailyIntervals, AnalyticsCycle, ("interval_days", "early"),
         {"n": lambda t: func.count()}),
        (DailyEffects, AnalyticsEffect, ("term",), {"n": lambda t: func.count()}),
    )
    for daily, source, keys, measures in plan:
        d = table_of(daily)
        session.execute(delete(d).where(d.c.clinic_id == clinic_id, d.c.date.in_(days)))
        query = rows(source, keys, measures)
        if daily is DailyIntervals:
            query = query.where(table_of(source).c.interval_days.is_not(None))
        session.execute(insert(d).from_select([*GROUP, *keys, *measures], query))


@use_case()
def refresh(session: Session, clinic_id: int, limit: int | None = None,
            ref: Reference | None = None) -> int:
    """Rebuild the derived rows of every patient of the clinic whose record changed since,
    and the daily roll-ups of the days they touch; returns how many patients were rebuilt.
    On PostgreSQL two requests never rebuild at once (a transaction-level advisory lock);
    SQLite serialises writing transactions."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7312002)"))
    p, v = Patient.__table__.c, AnalyticsVersion.__table__.c
    stale = select(p.id, p.record_version).outerjoin(
        AnalyticsVersion.__table__, v.patient_id == p.id).where(
        p.clinic_id == clinic_id,
        or_(v.record_version.is_(None), v.record_version != p.record_version))
    if limit is not None:
        stale = stale.limit(limit)
    todo = session.execute(stale).all()
    scales = (ref or default_reference()).scales
    touched: set[tuple[int, date]] = set()
    for i in range(0, len(todo), CHUNK):
        chunk = todo[i:i + CHUNK]
        touched |= _rebuild(session, [pid for pid, _ in chunk], scales)
        session.execute(insert(table_of(AnalyticsVersion)), [
            {"patient_id": pid, "clinic_id": clinic_id, "record_version": ver}
            for pid, ver in chunk])
    by_clinic: dict[int, list[date]] = defaultdict(list)
    for cid, day in touched:
        by_clinic[cid].append(day)
    for cid, days in by_clinic.items():
        days.sort()
        for j in range(0, len(days), 200):
            _roll_up(session, cid, days[j:j + 200])
    session.flush()
    return len(todo)


@use_case()
def build_state(session: Session, clinic_name: str) -> tuple[int | None, int, int]:
    """For a rebuild with a progress bar: the clinic's id (None when there is no such
    clinic), its patients, and how many of them have derived rows already."""
    clinic_id = session.scalar(select(Clinic.id).where(Clinic.name == clinic_name))
    if clinic_id is None:
        return None, 0, 0
    total = session.scalar(select(func.count()).select_from(Patient)
                           .where(Patient.clinic_id == clinic_id)) or 0
    done = session.scalar(select(func.count()).select_from(AnalyticsVersion)
                          .where(AnalyticsVersion.clinic_id == clinic_id)) or 0
    return clinic_id, total, done
