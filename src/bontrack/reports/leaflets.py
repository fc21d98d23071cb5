"""Plain-language leaflets per condition and product, assembled from the reference data:
the expected course and the side effects come from the label data with their sources; the
red-flag symptoms from the boxed warning. No number is written here."""

from __future__ import annotations

from typing import Any

from bontrack.reference import Reference

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


def leaflet(ref: Reference, product_id: str, indication_id: str,
            pediatric: bool | None = None) -> dict[str, Any]:
    """The leaflet; ``pediatric`` picks the side effects reported for children or adults
    (the label data marks the children's trial rows "(pediatric)")."""
    product = ref.products[product_id]
    indication = ref.indications[indication_id]
    entries = [e for e in product.labels if e.indication == indication_id and e.labelled]
    course = next((e.effect_course for e in entries if e.effect_course), None)
    expect: list[str] = []
    if course is not None:
        for attr, words in (("onset_days", "starts to work"), ("peak_days", "works best"),
                            ("duration_days", "usually lasts")):
            r = getattr(course, attr)
            if r is None:
                continue
            span = ("up to " + str(r.max) if r.min is None else
                    f"{r.min} to {r.max}" if r.max is not None else f"from {r.min}")
            expect.append(f"It {words}: {span} days after the injections "
                          f"(source: {ref.citation(r.source.document, r.source.section)}).")
    interval = next((e.retreatment_min_interval for e in entries
                     if e.retreatment_min_interval), None)
    if interval is not None:
        expect.append(f"Injections are not repeated sooner than {interval.describe()} after "
                      "the last ones.")
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
        "expect": expect,
        "side_effects": [{"term": s.term.replace("(pediatric)", "").strip(),
                          "percent": s.percent,
                          "source": ref.citation(s.source.document, s.source.section)}
                         for s in effects],
        "seek_help": [f.plain_language for f in ref.red_flags],
        "units_note": "The units of one botulinum toxin product are not the same as the units "
                      "of another: your dose is for this product only.",
    }
