"""Treatment-cycle analytics: one patient across cycles, and the clinic as a whole.

Per patient the figures are computed from the record each time (clinical.response).
Per clinic they are SQL aggregates (SQLAlchemy Core, GROUP BY in the database) over derived
rows: per cycle (``analytics_cycles``: interval and vials; ``analytics_responses``: the
response per outcome series; ``analytics_effects``: side-effect terms) and their daily
roll-ups (``analytics_daily_*``: counts per clinic, day, indication, product and clinician),
which the clinic queries read. The derived rows of a patient are rebuilt whenever the
patient's ``record_version`` differs from the version they were built from (``refresh``),
and the roll-ups of the days those rows touch are recomputed, so a clinic query always sees
the current record; derived rows are never entered by anyone and are the only rows this
module deletes.

Medians come from histograms aggregated in the database (value, count), so the same query
runs on SQLite (no median function) and PostgreSQL. Units of different products are never
summed: every unit figure is grouped by product.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, case, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session

from bontrack.clinical.response import (
    CycleFacts,
    CycleResponse,
    Measurement,
    NextWindow,
    dose_by_muscle,
    next_window,
    responder_rules,
    series_responses,
    typical_duration,
    waning,
)
from bontrack.clinical.scales import Scales
from bontrack.errors import InvalidRecord
from bontrack.reference import Reference, default_reference
from bontrack.services import audit
from bontrack.services.access import Actor, require_role
from bontrack.services.given import GIVEN
from bontrack.services.records import get_patient
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
    DailyResponses,
    DiaryEntry,
    Injection,
    Outcome,
    Patient,
    SideEffect,
    User,
    Vial,
)

#: Roles that see clinic-wide figures (clinic leads and clinicians; never patients).
CLINIC_ROLES = ("admin", "clinician")
#: A diary note saying the effect wore off ends the benefit on that day.
WORE_OFF = re.compile(r"\b(wore|worn|wearing|wears)\s+off\b", re.I)
CHUNK = 500


# -- one patient -------------------------------------------------------------------------


def _site(muscle: str | None, side: str | None) -> str:
    return " ".join(x for x in (muscle or "", side or "") if x)


def _day(x: date | datetime) -> date:
    return x.date() if isinstance(x, datetime) else x


@dataclass
class PatientRows:
    cycles: list[Any]
    outcomes: list[Any]
    wore_off: list[date]


def _series(rows: PatientRows, scales: Scales
            ) -> list[tuple[str, str, list[Any], list[CycleResponse]]]:
    """(scale, site, cycles in date order, responses) for every outcome series."""
    cycles = sorted(rows.cycles, key=lambda c: (c.date, c.id))
    facts = [CycleFacts(c.date, c.product, Decimal(c.total_units)) for c in cycles]
    grouped: dict[tuple[str, str], list[Measurement]] = defaultdict(list)
    for o in rows.outcomes:
        grouped[(o.scale, _site(o.muscle, o.side))].append(
            Measurement(_day(o.measured_at), Decimal(o.value)))
    out = []
    for (scale, site), ms in sorted(grouped.items()):
        out.append((scale, site, cycles,
                    series_responses(scales, scale, facts, ms, rows.wore_off) if facts else []))
    return out


def _load(session: Session, patient_ids: Sequence[int]) -> dict[int, PatientRows]:
    rows: dict[int, PatientRows] = {pid: PatientRows([], [], []) for pid in patient_ids}
    c = Cycle.__table__.c
    for r in session.execute(select(c.id, c.patient_id, c.clinic_id, c.date, c.product,
                                    c.indication, c.clinician_id, c.total_units,
                                    c.next_earliest_date)
                             .where(c.patient_id.in_(patient_ids), c.status == GIVEN)):
        rows[r.patient_id].cycles.append(r)
    o = Outcome.__table__.c
    for ro in session.execute(select(o.patient_id, o.scale, o.muscle, o.side,
                                     o.measured_at, o.value)
                              .where(o.patient_id.in_(patient_ids), o.status == "active")):
        rows[ro.patient_id].outcomes.append(ro)
    d = DiaryEntry.__table__.c
    for rd in session.execute(select(d.patient_id, d.entry_date, d.note)
                              .where(d.patient_id.in_(patient_ids), d.status == "active",
                                     d.note != "")):
        if WORE_OFF.search(rd.note or ""):
            rows[rd.patient_id].wore_off.append(rd.entry_date)
    return rows


def _n(x: Decimal | None) -> float | int | None:
    if x is None:
        return None
    return int(x) if x == x.to_integral_value() else float(x)


def _best_window(last: Any, all_series: list[tuple[str, str, list[Any], list[CycleResponse]]]
                 ) -> tuple[NextWindow, int, str, str] | None:
    """The suggested next window from the series with the most measured durations (the
    first such series on a tie), after the last given cycle; None where none can be
    suggested."""
    if last is None:
        return None
    best: tuple[NextWindow, int, str, str] | None = None
    for scale, site, _, responses in all_series:
        window = next_window(last.date, responses, last.next_earliest_date)
        measured = len([r for r in responses if r.duration_kind in ("measured", "diary")])
        if window is not None and (best is None or best[1] < measured):
            best = (window, measured, scale, site)
    return best


@use_case()
def next_dates(session: Session, patient_ids: Sequence[int], ref: Reference | None = None
               ) -> dict[int, tuple[date | None, date | None, tuple[date, date] | None]]:
    """Per patient: (last given day, earliest safe date, suggested window), read for many
    patients at once (the patient list's overdue flags)."""
    out: dict[int, tuple[date | None, date | None, tuple[date, date] | None]] = {}
    for pid, rows in _load(session, patient_ids).items():
        cycles = sorted(rows.cycles, key=lambda c: (c.date, c.id))
        last = cycles[-1] if cycles else None
        best = _best_window(last, _series(rows, (ref or default_reference()).scales))
        out[pid] = (last.date if last else None, last.next_earliest_date if last else None,
                    (best[0].start, best[0].end) if best else None)
    return out


@use_case()
def patient_analytics(session: Session, actor: Actor, patient_id: int,
                      ref: Reference, audit_read: bool = True) -> dict[str, Any]:
    """The patient's response per cycle and series, dose per muscle over time, typical
    duration of benefit, the suggested next window and the waning warning."""
    patient = get_patient(session, actor, patient_id, audit_read=False)
    rows = _load(session, [patient.id])[patient.id]
    cycles = sorted(rows.cycles, key=lambda c: (c.date, c.id))
    last = cycles[-1] if cycles else None
    series = []
    all_series = _series(rows, ref.scales)
    rules = responder_rules(ref.scales)
    best_window = _best_window(last, all_series)
    for scale, site, cyc, responses in all_series:
        facts = [CycleFacts(c.date, c.product, Decimal(c.total_units)) for c in cyc]
        rule = rules.get(scale)
        typical = typical_duration(responses)
        warn = waning(facts, responses) if responses else None
        series.append({
            "scale": scale, "site": site,
            "rule": rule.describe() if rule else None,
            "rule_source": rule.source if rule else None,
            "rule_is_convention": rule.convention if rule else False,
            "typical_duration_days": typical,
            "waning": ({"warn": warn.warn, "rule": warn.rule, "detail": warn.detail}
                       if warn else None),
            "cycles": [{
                "cycle_id": c.id, "date": c.date.isoformat(), "product": c.product,
                "total_units": _n(Decimal(c.total_units)),
                "baseline": _n(r.baseline), "best": _n(r.best), "change": _n(r.change),
                "improvement": _n(r.improvement), "responder": r.responder,
                "onset_days": r.onset_days, "peak_days": r.peak_days,
                "duration_days": r.duration_days, "duration_kind": r.duration_kind,
                "unknown_reason": r.unknown_reason,
            } for c, r in zip(cyc, responses, strict=True)],
        })
    inj = Injection.__table__.c
    dose_rows = session.execute(
        select(Cycle.date, Cycle.product, inj.muscle, inj.side, inj.units)
        .join(Cycle, Cycle.id == inj.cycle_id)
        .where(Cycle.patient_id == patient.id, Cycle.status == GIVEN)).all()
    doses = dose_by_muscle([(d, p, m, s, Decimal(u)) for d, p, m, s, u in dose_rows])
    if audit_read:
        audit.record(session, actor, "read", "analytics", patient_id=patient.id)
    window = best_window[0] if best_window else None
    return {
        "patient_id": patient.id,
        "last_given_date": last.date.isoformat() if last else None,
        "next_earliest_date": (last.next_earliest_date.isoformat()
                               if last and last.next_earliest_date else None),
        "next_window": ({"start": window.start.isoformat(), "end": window.end.isoformat(),
                         "basis": window.basis, "series": f"{best_window[2]} {best_window[3]}"
                         .strip(), "clamped": window.clamped_to_safe_interval}
                        if window and best_window else None),
        "series": series,
        "doses": [{"product": p, "muscle": m, "side": s,
                   "brand": ref.products[p].brands[0] if p in ref.products else p,
                   "points": [{"date": d.isoformat(), "units": _n(u)} for d, u in pts]}
                  for (p, m, s), pts in doses.items()],
    }


# -- derived rows ------------------------------------------------------------------------


DERIVED = (AnalyticsCycle, AnalyticsResponse, AnalyticsEffect)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _days_of(session: Session, patient_ids: Sequence[int]) -> set[tuple[int, date]]:
    """(clinic, day) of every derived row of these patients."""
    out: set[tuple[int, date]] = set()
    for model in DERIVED:
        t = _table(model)
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
        t = _table(model)
        session.execute(delete(t).where(t.c.patient_id.in_(patient_ids)))
    loaded = _load(session, patient_ids)
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
        for scale, site, cycles, responses in _series(rows, scales):
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
            session.execute(insert(_table(model)), new)
    return days | {(r["clinic_id"], r["date"]) for r in cycle_rows}


GROUP = ("clinic_id", "date", "indication", "product", "clinician_id")


def _roll_up(session: Session, clinic_id: int, days: Sequence[date]) -> None:
    """Recompute the daily roll-ups of one clinic for ``days`` from the per-cycle rows."""
    def rows(model: Any, keys: tuple[str, ...], measures: dict[str, Any]) -> Any:
        t = _table(model)
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
        (DailyIntervals, AnalyticsCycle, ("interval_days", "early"),
         {"n": lambda t: func.count()}),
        (DailyEffects, AnalyticsEffect, ("term",), {"n": lambda t: func.count()}),
    )
    for daily, source, keys, measures in plan:
        d = _table(daily)
        session.execute(delete(d).where(d.c.clinic_id == clinic_id, d.c.date.in_(days)))
        query = rows(source, keys, measures)
        if daily is DailyIntervals:
            query = query.where(_table(source).c.interval_days.is_not(None))
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
        session.execute(insert(_table(AnalyticsVersion)), [
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


# -- filters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    indication: str | None = None
    product: str | None = None
    clinician_id: int | None = None

    def describe(self) -> str:
        parts = [f"from {self.date_from}" if self.date_from else "",
                 f"to {self.date_to}" if self.date_to else "",
                 f"indication {self.indication}" if self.indication else "",
                 f"product {self.product}" if self.product else "",
                 f"clinician #{self.clinician_id}" if self.clinician_id else ""]
        return ", ".join(x for x in parts if x) or "all cycles"

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in (
            ("from", self.date_from.isoformat() if self.date_from else ""),
            ("to", self.date_to.isoformat() if self.date_to else ""),
            ("indication", self.indication or ""), ("product", self.product or ""),
            ("clinician", str(self.clinician_id) if self.clinician_id else "")) if v}


FILTER_FIELDS = ("from", "to", "indication", "product", "clinician")


def _date(field: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(f"{field}: must be a date as YYYY-MM-DD, got {value!r}",
                            field=field) from None


@use_case()
def read_filters(session: Session, actor: Actor, ref: Reference,
                 raw: Mapping[str, str | None]) -> Filters:
    """Filters from a form, a query string or the command line; an unknown key or a bad
    value is an error naming the field."""
    require_role(actor, CLINIC_ROLES, "see clinic analytics")
    unknown = sorted(k for k in raw if k not in FILTER_FIELDS and k != "format")
    if unknown:
        raise InvalidRecord(f"{unknown[0]}: unknown filter; use {', '.join(FILTER_FIELDS)}",
                            field=unknown[0])
    val = {k: (raw.get(k) or "").strip() for k in FILTER_FIELDS}
    start = _date("from", val["from"]) if val["from"] else None
    end = _date("to", val["to"]) if val["to"] else None
    if start and end and start > end:
        raise InvalidRecord(f"from: {start} is after to {end}", field="from")
    indication = product = None
    if val["indication"]:
        indication = ref.indication_id(val["indication"])
        if indication is None:
            raise InvalidRecord(f"indication: unknown indication {val['indication']!r}",
                                field="indication")
    if val["product"]:
        product = ref.product_id(val["product"])
        if product is None:
            raise InvalidRecord(f"product: unknown product {val['product']!r}",
                                field="product")
    clinician = None
    if val["clinician"]:
        q = select(User.id).where(User.clinic_id == actor.clinic_id,
                                  User.role == "clinician")
        q = q.where(User.id == int(val["clinician"])) if val["clinician"].isdigit() else \
            q.where(User.username == val["clinician"])
        clinician = session.scalar(q)
        if clinician is None:
            raise InvalidRecord(f"clinician: no clinician {val['clinician']!r} in this clinic",
                                field="clinician")
    return Filters(start, end, indication, product, clinician)


def _where(cols: Any, clinic_id: int, f: Filters) -> list[Any]:
    cond = [cols.clinic_id == clinic_id]
    if f.date_from:
        cond.append(cols.date >= f.date_from)
    if f.date_to:
        cond.append(cols.date <= f.date_to)
    if f.indication:
        cond.append(cols.indication == f.indication)
    if f.product:
        cond.append(cols.product == f.product)
    if f.clinician_id:
        cond.append(cols.clinician_id == f.clinician_id)
    return cond


# -- clinic queries ----------------------------------------------------------------------


def _median(hist: Iterable[tuple[int, int]]) -> int | None:
    """The lower median of a histogram of (value, count)."""
    pairs = sorted((v, n) for v, n in hist if v is not None)
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    rank, seen = (total + 1) // 2, 0
    for v, n in pairs:
        seen += n
        if seen >= rank:
            return int(v)
    return None  # pragma: no cover


def responder_query(clinic_id: int, f: Filters) -> Select[Any]:
    r = _table(DailyResponses).c
    return (select(r.indication, r.product, r.scale, func.sum(r.n).label("cycles"),
                   func.sum(case((r.responder.is_(True), r.n), else_=0)).label("responders"),
                   func.sum(case((r.responder.is_(None), r.n), else_=0)).label("unknown"))
            .where(*_where(r, clinic_id, f))
            .group_by(r.indication, r.product, r.scale)
            .order_by(r.indication, r.product, r.scale))


def duration_query(clinic_id: int, f: Filters) -> Select[Any]:
    r = _table(DailyResponses).c
    return (select(r.indication, r.product, r.duration_days, func.sum(r.n).label("n"))
            .where(*_where(r, clinic_id, f),
                   r.duration_kind.in_(("measured", "diary")))
            .group_by(r.indication, r.product, r.duration_days))


def cycle_count_query(clinic_id: int, f: Filters) -> Select[Any]:
    c = _table(DailyCycles).c
    return (select(c.indication, c.product, func.sum(c.cycles).label("cycles"))
            .where(*_where(c, clinic_id, f))
            .group_by(c.indication, c.product))


def side_effect_query(clinic_id: int, f: Filters) -> Select[Any]:
    e = _table(DailyEffects).c
    return (select(e.indication, e.product, e.term, func.sum(e.n).label("cycles"))
            .where(*_where(e, clinic_id, f))
            .group_by(e.indication, e.product, e.term))


def interval_query(clinic_id: int, f: Filters) -> Select[Any]:
    a = _table(DailyIntervals).c
    return (select(a.indication, a.interval_days, func.sum(a.n).label("n"),
                   func.sum(case((a.early.is_(True), a.n), else_=0)).label("early"))
            .where(*_where(a, clinic_id, f))
            .group_by(a.indication, a.interval_days))


def _month(session: Session, col: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.strftime("%Y-%m", col)


def waste_query(session: Session, clinic_id: int, f: Filters) -> Select[Any]:
    c = _table(DailyCycles).c
    month = _month(session, c.date).label("month")
    return (select(c.product, month, func.sum(c.units_discarded).label("discarded"),
                   func.sum(c.units_opened).label("opened"), func.sum(c.vials).label("vials"))
            .where(*_where(c, clinic_id, f), c.vials > 0)
            .group_by(c.product, month).order_by(c.product, month))


def _label_rate(ref: Reference, product: str, indication: str, term: str
                ) -> tuple[Decimal, str] | None:
    """The label's rate of ``term`` for the product and indication, where the reference
    data has a cited one: same term, or the label's term as a whole word in the report."""
    p = ref.products.get(product)
    if p is None:
        return None
    for se in p.side_effects:
        if se.percent is None or se.indication not in (indication, None):
            continue
        label_term = se.term.lower().replace("(pediatric)", "").strip()
        if label_term == term or re.search(rf"\b{re.escape(label_term)}\b", term):
            return se.percent, ref.citation(se.source.document, se.source.section)
    return None


@use_case()
def clinic_analytics(session: Session, actor: Actor, ref: Reference, f: Filters,
                     audit_read: bool = True) -> dict[str, Any]:
    """Every clinic figure under the filters (see docs/analytics.md for what each means)."""
    require_role(actor, CLINIC_ROLES, "see clinic analytics")
    refresh(session, actor.clinic_id, ref=ref)
    cid = actor.clinic_id
    rules = responder_rules(ref.scales)
    responders = []
    for row in session.execute(responder_query(cid, f)):
        known = int(row.cycles) - int(row.unknown)
        rule = rules.get(row.scale)
        responders.append({
            "indication": row.indication, "product": row.product, "scale": row.scale,
            "cycles": int(row.cycles), "known": known, "responders": int(row.responders),
            "unknown": int(row.unknown),
            "rate_percent": round(100 * int(row.responders) / known, 1) if known else None,
            "rule": rule.describe() if rule else "no responder rule for this scale"})
    hist: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for row in session.execute(duration_query(cid, f)):
        hist[(row.indication, row.product)].append((row.duration_days, int(row.n)))
    durations = [{"indication": i, "product": p, "median_days": _median(h),
                  "cycles": sum(n for _, n in h)} for (i, p), h in sorted(hist.items())]
    counts = {(r.indication, r.product): int(r.cycles)
              for r in session.execute(cycle_count_query(cid, f))}
    effects = []
    for row in session.execute(side_effect_query(cid, f)):
        n = counts.get((row.indication, row.product), 0)
        label = _label_rate(ref, row.product, row.indication, row.term)
        effects.append({
            "indication": row.indication, "product": row.product, "term": row.term,
            "cycles_with": int(row.cycles), "cycles": n,
            "per_100_cycles": round(100 * int(row.cycles) / n, 1) if n else None,
            "label_percent": _n(label[0]) if label else None,
            "label_source": label[1] if label else "no label rate"})
    effects.sort(key=lambda e: (e["indication"], e["product"], -(e["per_100_cycles"] or 0)))
    ihist: dict[str, list[tuple[int, int]]] = defaultdict(list)
    early: dict[str, int] = defaultdict(int)
    for row in session.execute(interval_query(cid, f)):
        ihist[row.indication].append((int(row.interval_days), int(row.n)))
        early[row.indication] += int(row.early or 0)
    intervals = []
    for ind, h in sorted(ihist.items()):
        pairs = sorted(h)
        intervals.append({"indication": ind, "intervals": sum(n for _, n in pairs),
                          "median_days": _median(pairs), "shortest_days": pairs[0][0],
                          "longest_days": pairs[-1][0], "before_safe_date": early[ind]})
    waste = [{"product": r.product, "month": r.month, "units_discarded": _n(r.discarded),
              "units_opened": _n(r.opened), "vials": int(r.vials)}
             for r in session.execute(waste_query(session, cid, f))]
    if audit_read:
        audit.record(session, actor, "read", "clinic_analytics", detail=f.describe())
    return {"filters": f.describe(), "query": f.as_query(),
            "cycles": sum(counts.values()),
            "cycles_by_group": [{"indication": i, "product": p, "cycles": n}
                                for (i, p), n in sorted(counts.items())],
            "responders": responders, "durations": durations, "side_effects": effects,
            "intervals": intervals, "waste": waste}


@use_case()
def clinicians(session: Session, actor: Actor) -> list[tuple[int, str]]:
    require_role(actor, CLINIC_ROLES, "see clinic analytics")
    return [(u.id, u.display_name or u.username) for u in session.scalars(
        select(User).where(User.clinic_id == actor.clinic_id, User.role == "clinician")
        .order_by(User.display_name))]


__all__ = ["Filters", "clinic_analytics", "patient_analytics", "read_filters",
           "refresh"]
