"""One patient across treatment cycles: the response per outcome series, the duration of
benefit and the next treatment window, computed from the record each time
(``clinical.response``). Also what the clinic projection reads of a patient's record."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
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
from bontrack.reference import Reference, default_reference
from bontrack.services import audit
from bontrack.services.access import Actor
from bontrack.services.given import GIVEN
from bontrack.services.records import get_patient
from bontrack.services.usecase import use_case
from bontrack.store.models import (
    Cycle,
    CycleDiary,
    DiaryEntry,
    Injection,
    Outcome,
)

#: Roles that see clinic-wide figures (clinic leads and clinicians; never patients).

CLINIC_ROLES = ("admin", "clinician")
#: A diary note saying the effect wore off ends the benefit on that day.
WORE_OFF = re.compile(r"\b(wore|worn|wearing|wears)\s+off\b", re.I)
CHUNK = 500


# -- one patient -------------------------------------------------------------------------


def site_of(muscle: str | None, side: str | None) -> str:
    return " ".join(x for x in (muscle or "", side or "") if x)


def day_of(x: date | datetime) -> date:
    return x.date() if isinstance(x, datetime) else x


@dataclass
class PatientRows:
    cycles: list[Any]
    outcomes: list[Any]
    wore_off: list[date]
    #: days the cycle diary says an injection started working (issue 17 item 6)
    onsets: list[date] = field(default_factory=list)


def series_of(rows: PatientRows, scales: Scales
            ) -> list[tuple[str, str, list[Any], list[CycleResponse]]]:
    """(scale, site, cycles in date order, responses) for every outcome series."""
    cycles = sorted(rows.cycles, key=lambda c: (c.date, c.id))
    facts = [CycleFacts(c.date, c.product, Decimal(c.total_units)) for c in cycles]
    grouped: dict[tuple[str, str], list[Measurement]] = defaultdict(list)
    for o in rows.outcomes:
        grouped[(o.scale, site_of(o.muscle, o.side))].append(
            Measurement(day_of(o.measured_at), Decimal(o.value)))
    out = []
    for (scale, site), ms in sorted(grouped.items()):
        out.append((scale, site, cycles,
                    series_responses(scales, scale, facts, ms, rows.wore_off, rows.onsets)
                    if facts else []))
    return out


def load_rows(session: Session, patient_ids: Sequence[int]) -> dict[int, PatientRows]:
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
    # the cycle diary's current answers: the reported onset and wear-off days
    cd = CycleDiary.__table__.c
    for ra in session.execute(select(cd.patient_id, cd.onset_date, cd.wore_off_date)
                              .where(cd.patient_id.in_(patient_ids), cd.status == "active")):
        if ra.onset_date is not None:
            rows[ra.patient_id].onsets.append(ra.onset_date)
        if ra.wore_off_date is not None:
            rows[ra.patient_id].wore_off.append(ra.wore_off_date)
    return rows


def number(x: Decimal | None) -> float | int | None:
    if x is None:
        return None
    return int(x) if x == x.to_integral_value() else float(x)


def best_window(last: Any, all_series: list[tuple[str, str, list[Any], list[CycleResponse]]]
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
    for pid, rows in load_rows(session, patient_ids).items():
        cycles = sorted(rows.cycles, key=lambda c: (c.date, c.id))
        last = cycles[-1] if cycles else None
        best = best_window(last, series_of(rows, (ref or default_reference()).scales))
        out[pid] = (last.date if last else None, last.next_earliest_date if last else None,
                    (best[0].start, best[0].end) if best else None)
    return out


@use_case()
def patient_analytics(session: Session, actor: Actor, patient_id: int,
                      ref: Reference, audit_read: bool = True) -> dict[str, Any]:
    """The patient's response per cycle and series, dose per muscle over time, typical
    duration of benefit, the suggested next window and the waning warning."""
    patient = get_patient(session, actor, patient_id, audit_read=False)
    rows = load_rows(session, [patient.id])[patient.id]
    cycles = sorted(rows.cycles, key=lambda c: (c.date, c.id))
    last = cycles[-1] if cycles else None
    series = []
    all_series = series_of(rows, ref.scales)
    rules = responder_rules(ref.scales)
    chosen = best_window(last, all_series)
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
                "total_units": number(Decimal(c.total_units)),
                "baseline": number(r.baseline), "best": number(r.best), "change": number(r.change),
                "improvement": number(r.improvement), "responder": r.responder,
                "onset_days": r.onset_days, "onset_source": r.onset_source,
                "peak_days": r.peak_days,
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
    window = chosen[0] if chosen else None
    return {
        "patient_id": patient.id,
        "last_given_date": last.date.isoformat() if last else None,
        "next_earliest_date": (last.next_earliest_date.isoformat()
                               if last and last.next_earliest_date else None),
        "next_window": ({"start": window.start.isoformat(), "end": window.end.isoformat(),
                         "basis": window.basis, "series": f"{chosen[2]} {chosen[3]}"
                         .strip(), "clamped": window.clamped_to_safe_interval}
                        if window and chosen else None),
        "series": series,
        "doses": [{"product": p, "muscle": m, "side": s,
                   "brand": ref.products[p].brands[0] if p in ref.products else p,
                   "points": [{"date": d.isoformat(), "units": number(u)} for d, u in pts]}
                  for (p, m, s), pts in doses.items()],
    }
