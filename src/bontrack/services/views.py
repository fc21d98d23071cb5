"""Records as JSON-ready dictionaries: one shape for the API, the web pages and snapshots."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bontrack.clinical.result import number
from bontrack.store.models import (
    Condition,
    Cycle,
    DiaryEntry,
    Goal,
    Outcome,
    Patient,
    SideEffect,
    User,
    Weight,
)
from bontrack.store.types import to_utc


def _d(x: date | datetime | None) -> str | None:
    """ISO 8601; a timestamp always in UTC with its offset, as both databases return it
    (so a 201 answer shows what a later read will)."""
    if isinstance(x, datetime):
        return to_utc(x).isoformat()
    return x.isoformat() if x is not None else None


def _n(x: Decimal | None) -> int | float | None:
    return number(x)


def patient_view(p: Patient) -> dict[str, Any]:
    return {
        "id": p.id, "mrn": p.mrn, "display_name": p.display_name,
        "family_name": p.family_name, "given_names": list(p.given_names or []),
        "birth_date": _d(p.birth_date), "sex": p.sex, "flags": list(p.flags or []),
        "medications": list(p.medications or []), "status": p.status, "version": p.version,
        "weights": [weight_view(w) for w in p.weights],
    }


def weight_view(w: Weight) -> dict[str, Any]:
    return {"id": w.id, "measured_on": _d(w.measured_on), "weight_kg": _n(w.weight_kg)}


def condition_view(c: Condition) -> dict[str, Any]:
    return {"id": c.id, "patient_id": c.patient_id, "indication": c.indication,
            "icd10cm": c.icd10cm, "affected_side": c.affected_side,
            "onset_date": _d(c.onset_date), "note": c.note, "status": c.status}


def cycle_view(c: Cycle) -> dict[str, Any]:
    return {
        "id": c.id, "patient_id": c.patient_id, "date": _d(c.date), "product": c.product,
        "indication": c.indication, "clinician_id": c.clinician_id,
        "weight_kg": _n(c.weight_kg), "total_units": _n(c.total_units),
        "consent_recorded": c.consent_recorded, "consent_text": c.consent_text,
        "note": c.note, "status": c.status, "verdict": c.verdict,
        "reference_version": c.reference_version,
        "next_earliest_date": _d(c.next_earliest_date),
        "signed_by": c.signed_by, "signed_at": _d(c.signed_at), "version": c.version,
        "provenance": c.provenance or "",
        "injections": [
            {"muscle": i.muscle, "side": i.side, "units": _n(i.units), "sites": i.sites,
             "volume_ml": _n(i.volume_ml), "guidance": i.guidance}
            for i in c.injections
        ],
        "vials": [
            {"size_units": _n(v.size_units), "diluent_ml": _n(v.diluent_ml), "lot": v.lot,
             "expiry": _d(v.expiry), "reconstituted_at": _d(v.reconstituted_at),
             "units_discarded": _n(v.units_discarded)}
            for v in c.vials
        ],
        "findings": [
            {"code": f.code, "severity": f.severity, "message": f.message,
             "value": _n(f.value), "limit": _n(f.limit), "unit": f.unit, "muscle": f.muscle,
             "side": f.side, "source": f.source}
            for f in c.findings
        ],
        "overrides": [
            {"code": o.code, "clinician_id": o.clinician_id, "reason": o.reason,
             "at": _d(o.created_at)}
            for o in c.overrides
        ],
    }


def revision_views(c: Cycle) -> list[dict[str, Any]]:
    return [{"version": r.version, "changed_by": r.changed_by, "changed_at": _d(r.changed_at),
             "reason": r.reason, "snapshot": r.snapshot} for r in c.revisions]


def error_view(r: Any) -> dict[str, Any] | None:
    """Why, by whom and when a record was marked entered in error (None while active)."""
    if r.status != "entered_in_error":
        return None
    return {"reason": r.error_reason, "by": r.error_by, "at": _d(r.error_at)}


def outcome_view(o: Outcome) -> dict[str, Any]:
    return {"id": o.id, "patient_id": o.patient_id, "cycle_id": o.cycle_id, "scale": o.scale,
            "value": _n(o.value), "value_text": o.value_text, "muscle": o.muscle,
            "region": o.region, "side": o.side, "measured_at": _d(o.measured_at),
            "status": o.status, "version": o.version, "entered_in_error": error_view(o)}


def goal_view(g: Goal) -> dict[str, Any]:
    return {"id": g.id, "patient_id": g.patient_id, "description": g.description,
            "weight": g.weight, "target_date": _d(g.target_date), "attainment": g.attainment,
            "status": g.status, "version": g.version, "entered_in_error": error_view(g)}


def side_effect_view(s: SideEffect) -> dict[str, Any]:
    return {"id": s.id, "patient_id": s.patient_id, "cycle_id": s.cycle_id, "term": s.term,
            "onset": _d(s.onset), "severity": s.severity, "serious": s.serious,
            "outcome": s.outcome, "relatedness": s.relatedness,
            "red_flags": list(s.red_flags or []), "urgent": bool(s.red_flags),
            "triage": _triage(s.triage, s.red_flags),
            "reported_at": _d(s.reported_at), "status": s.status, "version": s.version,
            "entered_in_error": error_view(s)}


def _triage(doc: dict[str, Any] | None, red_flags: list[str] | None) -> dict[str, Any]:
    """The stored triage result; a record made before results were stored gets one built
    from its red flags (its words matched then, not now: ``matched`` is empty)."""
    if doc:
        return doc
    flags = [{"id": f, "matched": "", "source": ""} for f in red_flags or []]
    return {"urgent": bool(flags), "flags": flags, "advice": "", "unclear": False,
            "level": "urgent" if flags else "not_urgent", "possible": [],
            "reference_version": None}


def diary_view(d: DiaryEntry) -> dict[str, Any]:
    return {"id": d.id, "patient_id": d.patient_id, "entry_date": _d(d.entry_date),
            "spasm_frequency": d.spasm_frequency, "spasm_intensity": d.spasm_intensity,
            "pain": d.pain, "side_effects": d.side_effects, "note": d.note,
            "red_flags": list(d.red_flags or []), "urgent": bool(d.red_flags),
            "triage": _triage(d.triage, d.red_flags), "status": d.status,
            "version": d.version, "entered_in_error": error_view(d)}


def user_view(u: User) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "display_name": u.display_name,
            "role": u.role, "clinic_id": u.clinic_id, "patient_id": u.patient_id,
            "disabled": u.disabled}
