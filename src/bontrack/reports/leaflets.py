"""Plain-language leaflets per condition and product, assembled from the reference data:
the expected course and the side effects come from the label data with their sources; the
red-flag symptoms from the boxed warning. No number is written here."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bontrack.clinical.effect_course import course
from bontrack.reference import Reference
from bontrack.reference.schema import LabelEntry

CONDITION_TEXT = {
    "spasticity": "Spasticity means some muscles are tight and stiff, or pull too much, after "
    "damage to the brain or spinal cord (for example a stroke, a brain injury, multiple "
    "sclerosis or cerebral palsy).",
    "dystonia": "Dystonia means some muscles tighten on their own, pulling the neck, eyelids "
    "or another part of the body into an unwanted position or movement.",
    "headache": "Chronic migraine means having headaches on most days of the month.",
    "autonomic": "Some glands make too much sweat or saliva.",
    "cosmetic": "Lines in the skin come from the muscles underneath pulling on it.",
    "other": "Some muscles are too active.",
}


LAY_TERMS = Path(__file__).with_name("lay_terms.yaml")


@cache
def lay_terms() -> dict[str, str]:
    """The label's side-effect terms -> lay words (reports/lay_terms.yaml)."""
    doc = yaml.safe_load(LAY_TERMS.read_text(encoding="utf-8"))
    return {str(k).lower(): str(v) for k, v in doc["terms"].items()}


def plain_term(term: str) -> str:
    """"joint pain (arthralgia)": the lay words with the medical word in brackets; a term
    that is already plain, or not listed, as the label writes it."""
    medical = term.replace("(pediatric)", "").strip()
    lay = lay_terms().get(medical.lower())
    if lay is None or lay.lower() == medical.lower():
        return medical[:1].upper() + medical[1:] if lay is not None else medical
    return f"{lay[:1].upper()}{lay[1:]} ({medical.lower()})"


def how_many(percent: Decimal | None) -> str | None:
    """The label's rate in words: "about 6 in 100 people"; below 1 %, "fewer than 1 in 100
    people" (a 0 in the label's table is rounded, not "never")."""
    if percent is None:
        return None
    if percent < 1:
        return "fewer than 1 in 100 people"
    shown = percent.quantize(Decimal(1)) if percent == percent.to_integral() else percent
    return f"about {shown} in 100 people"


def _days(r: Any) -> str:
    if r.min is None:
        return f"within {r.max} days"
    if r.max is None:
        return f"from day {r.min}"
    return f"{r.min} to {r.max} days"


def _on(d: date | None) -> str:
    return f"{d.day} {d:%B %Y}" if d else ""


def expectations(ref: Reference, entries: list[LabelEntry], given_on: date | None
                 ) -> list[str]:
    """What to expect, and when, from the label's effect course (clinical/effect_course.py
    and the cited ranges): when it starts to work, works best and wears off, as days and,
    after a cycle given on ``given_on``, as dates; then the earliest next injections.
    Where the label gives no timing for this use, it says so (no number is made up)."""
    label = next((e for e in entries if e.effect_course), entries[0] if entries else None)
    if label is None:
        return []
    ec = label.effect_course
    lines: list[str] = []
    if ec is not None:
        after = course(given_on, label) if given_on else None
        for attr, words, window in (
                ("onset_days", "It starts to work", after.onset if after else None),
                ("peak_days", "It works best", after.peak if after else None),
                ("duration_days", "It usually lasts", after.wear_off if after else None)):
            r = getattr(ec, attr)
            if r is None:
                continue
            when = ""
            if window is not None and (window.earliest or window.latest):
                span = " and ".join(_on(d) for d in (window.earliest, window.latest) if d)
                when = (f" — after your injections on {_on(given_on)}: "
                        + ("between " if window.earliest and window.latest else "by ")
                        + span)
            lines.append(f"{words} {_days(r)} after the injections{when} (source: "
                         f"{ref.citation(r.source.document, r.source.section)}).")
    if not lines:
        lines.append("The medicine's label gives no timing for this use: your clinician "
                     "will tell you what to expect, and the diary helps you note when it "
                     "starts to work and when it wears off.")
    interval = label.retreatment_min_interval
    if interval is not None:
        nxt = course(given_on, label).next_earliest_date if given_on else None
        lines.append(f"Injections are not repeated sooner than {interval.describe()} after "
                     "the last ones" + (f": not before {_on(nxt)}." if nxt else "."))
    return lines


def leaflet(ref: Reference, product_id: str, indication_id: str,
            pediatric: bool | None = None, given_on: date | None = None) -> dict[str, Any]:
    """The leaflet; ``pediatric`` picks the side effects reported for children or adults
    (the label data marks the children's trial rows "(pediatric)"); ``given_on``, the day
    of the patient's last injections, turns the expected course into dates."""
    product = ref.products[product_id]
    indication = ref.indications[indication_id]
    entries = [e for e in product.labels if e.indication == indication_id and e.labelled]
    effects = sorted(
        (s for s in product.side_effects if s.indication in (indication_id, None)
         and (pediatric is None or ("pediatric" in s.term.lower()) == pediatric)),
        key=lambda s: -(s.percent or 0))[:8]
    return {
        "product": product.id,
        "brand": product.brands[0],
        "indication": indication.name,
        "labelled": bool(entries),
        "what": f"{product.brands[0]} ({product.id}) is a botulinum toxin medicine. "
                + CONDITION_TEXT[indication.group],
        "how": "A very small amount is injected into the muscles (or glands) that are too "
               "active. It blocks the signal from the nerve, so that muscle relaxes. The effect "
               "comes on over days, is strongest after a few weeks and wears off after some "
               "months, so the injections are repeated when they wear off.",
        "expect": expectations(ref, entries, given_on),
        "side_effects": [{"term": plain_term(s.term),
                          "medical": s.term.replace("(pediatric)", "").strip(),
                          "percent": s.percent, "how_many": how_many(s.percent),
                          "source": ref.citation(s.source.document, s.source.section)}
                         for s in effects],
        "seek_help": [f.plain_language for f in ref.red_flags],
        "units_note": "The units of one botulinum toxin product are not the same as the units "
                      "of another: your dose is for this product only.",
    }


#: what a consent discussion covers, each drawn from the leaflet's cited content
CONSENT_TOPICS = (("expect", "What to expect, and when (the benefits)"),
                  ("side_effects", "The common side effects"),
                  ("seek_help", "When to get help at once (spread of the toxin)"))


def consent_points(ref: Reference, product_id: str, indication_id: str,
                   pediatric: bool | None = None) -> dict[str, list[str]]:
    """The leaflet's points per consent topic, as a clinician goes through them with the
    patient (empty for an unknown product or indication: the form names those itself)."""
    if product_id not in ref.products or indication_id not in ref.indications:
        return {key: [] for key, _ in CONSENT_TOPICS}
    leaf = leaflet(ref, product_id, indication_id, pediatric)
    return {
        "expect": [re.sub(r" \(source: .*\)\.$", ".", line) for line in leaf["expect"]]
        or ["The leaflet has no timing for this use: the clinician explained it."],
        "side_effects": [s["term"] + (f" ({s['how_many']})" if s["how_many"] else "")
                         for s in leaf["side_effects"]],
        "seek_help": list(leaf["seek_help"]),
    }


def consent_text(ref: Reference, product_id: str, indication_id: str, topics: list[str],
                 pediatric: bool | None = None, note: str = "") -> str:
    """The consent note stored with the cycle: which of the leaflet's topics were discussed,
    in the leaflet's words, then the clinician's own note."""
    points = consent_points(ref, product_id, indication_id, pediatric)
    names = dict(CONSENT_TOPICS)
    parts = [f"{names[key]}: {'; '.join(points[key])}" for key in names
             if key in topics and points.get(key)]
    head = ""
    if parts:
        brand = ref.products[product_id].brands[0]
        head = (f"Discussed from the leaflet for {brand} "
                f"({ref.indications[indication_id].name}, reference data "
                f"{ref.version}) — " + " | ".join(parts))
    text = "\n".join(t for t in (head, note.strip()) if t)
    return text[:4000]
