"""The check result as the contract's JSON document (shared/contracts/plan-check.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from bontrack.clinical.check import CheckResult
from bontrack.clinical.effect_course import Window
from bontrack.clinical.findings import CODES, Finding
from bontrack.clinical.preparation import InjectionPrep, Preparation
from bontrack.reference.catalogue import Reference

#: ``round(x, places)`` is ``x.quantize(Decimal("1E-places"))``: the exponents made once.
_PLACES = {places: Decimal(1).scaleb(-places) for places in range(8)}


def number(x: Decimal | None, places: int = 4) -> int | float | None:
    """A Decimal as a JSON number: whole numbers as int, others rounded to ``places``
    (half to even, as ``round`` does)."""
    if x is None:
        return None
    whole = int(x)
    if whole == x:
        return whole
    return float(x.quantize(_PLACES[places]))


#: Each code's severity as the result document writes it.
_SEVERITY_LABELS = {code: severity.label for code, severity in CODES.items()}


def finding_dict(f: Finding) -> dict[str, Any]:
    # Unpacked at once: a dozen findings a result, each field read once.
    code, message, value, limit, unit, muscle, side, source, quote, checks, muscles = f
    return {
        "code": code,
        "severity": _SEVERITY_LABELS[code],
        "message": message,
        "value": None if value is None else number(value),
        "limit": None if limit is None else number(limit),
        "unit": unit,
        "muscle": muscle,
        "side": side,
        "source": source,
        "quote": quote,
        "checks": list(checks),
        "muscles": list(muscles),
    }


def _injection_dict(i: InjectionPrep) -> dict[str, Any]:
    # One site (most injections): units per site and mL per site are the units and the mL
    # in total by value, and ``number`` depends on the value alone: written once each.
    muscle, side, units, sites, units_per_site, ml_per_site, ml_total = i
    units_n = number(units)
    ml_site = None if ml_per_site is None else number(ml_per_site, 3)
    return {
        "muscle": muscle,
        "side": side,
        "units": units_n,
        "sites": sites,
        "units_per_site": units_n if units_per_site == units else number(units_per_site),
        "ml_per_site": ml_site,
        "ml_total": (
            None if ml_total is None
            else ml_site if ml_total == ml_per_site
            else number(ml_total, 3)
        ),
    }


def preparation_dict(p: Preparation) -> dict[str, Any]:
    return {
        "vials": [
            {
                "size_units": number(v.size_units),
                "diluent_ml": number(v.diluent_ml),
                "units_per_ml": number(v.units_per_ml),
                "units_per_0_1_ml": number(v.units_per_0_1_ml),
                "lot": v.lot,
                "expiry": v.expiry,
                "reconstituted_at": _stamp(v.reconstituted_at),
                "use_by": _stamp(v.use_by),
            }
            for v in p.vials
        ],
        "units_per_0_1_ml": number(p.units_per_0_1_ml),
        "per_injection": [_injection_dict(i) for i in p.per_injection],
        "total_ml": number(p.total_ml, 3),
        "capacity_units": number(p.capacity_units),
        "vials_needed": p.vials_needed,
        "suggested_vials": [number(s) for s in p.suggested_vials],
        "units_discarded": number(p.units_discarded),
        "billing_modifier": p.billing_modifier,
    }


def _window(w: Window | None, ref: Reference) -> dict[str, Any] | None:
    if w is None:
        return None
    return {
        "earliest": _day(w.earliest),
        "latest": _day(w.latest),
        "source": ref.citation(w.source.document, w.source.section),
    }


def result_dict(r: CheckResult, ref: Reference) -> dict[str, Any]:
    """The contract's result object, with a few documented extra keys."""
    e = r.effect
    return {
        "verdict": r.verdict,
        "product": r.plan.product,
        "indication": r.plan.indication,
        "date": r.day.isoformat(),
        "age_years": r.age,
        "population": r.population,
        "total_units": number(r.total_units),
        "findings": [finding_dict(f) for f in r.findings],
        "checks_not_available": list(r.checks_not_available),
        "preparation": preparation_dict(r.preparation),
        "next_earliest_date": _day(e.next_earliest_date),
        "next_earliest_date_source": (
            ref.citation(e.next_source.document, e.next_source.section) if e.next_source else None
        ),
        "effect_course": {
            "onset": _window(e.onset, ref),
            "peak": _window(e.peak, ref),
            "wear_off": _window(e.wear_off, ref),
        },
        "reference_version": r.reference_version,
    }


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _stamp(d: datetime | None) -> str | None:
    return d.isoformat(timespec="minutes") if d else None


def result_json(r: CheckResult, ref: Reference) -> bytes:
    """``result_dict`` as compact UTF-8 JSON bytes (orjson: an order of magnitude faster
    than ``json.dumps``; the same document)."""
    return orjson.dumps(result_dict(r, ref))
