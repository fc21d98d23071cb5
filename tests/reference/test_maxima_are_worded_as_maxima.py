"""A range is not a maximum: every number the checker stops on must be worded by its source as
a maximum ("should not exceed", "maximum", "no more than", "up to" ...), or carry the label
sentence that makes the recommended dose a maximum (``maximum_source``). Recommended doses and
ranges live in the ``usual_*`` fields and the muscle tables, where they only warn."""

from __future__ import annotations

import re

from bontrack.reference.schema import Cited

MAXIMUM_WORDS = re.compile(
    r"exceed|maximum|\bmax\b|no more than|not more than|up to|should be between|"
    r"whichever is lower|<\s*\d|≤",
    re.IGNORECASE,
)


def stop_limits(ref):
    for p in ref.products.values():
        for i, c in enumerate(p.cumulative_limits):
            yield f"{p.id}.cumulative_limits.{i}", c
        for e in p.labels:
            where = f"{p.id}.{e.indication}.{e.population}"
            for name in ("session_max_units", "per_site_max_units", "per_site_max_ml"):
                c = getattr(e, name)
                if c is not None:
                    yield f"{where}.{name}", c
            for j, w in enumerate(e.weight_based):
                yield f"{where}.weight_based.{j}", w


def worded_as_maximum(c: Cited) -> bool:
    if MAXIMUM_WORDS.search(c.source.quote):
        return True
    return c.maximum_source is not None and bool(MAXIMUM_WORDS.search(c.maximum_source.quote))


def test_every_stop_limit_is_worded_as_a_maximum_by_its_source(real_ref):
    bad = [f"{w}: {c.source.quote[:90]!r}" for w, c in stop_limits(real_ref)
           if not worded_as_maximum(c)]
    assert not bad, "a recommended dose held as a maximum:\n" + "\n".join(bad)


def test_the_check_itself_tells_a_range_from_a_maximum():
    assert MAXIMUM_WORDS.search("The total dose should not exceed 6 Units/kg or 200 Units")
    assert MAXIMUM_WORDS.search("the maximum recommended dose is 64 Units")
    assert not MAXIMUM_WORDS.search("between Dysport 500 Units and Dysport 1000 Units")
    assert not MAXIMUM_WORDS.search("Glabellar lines | 20 Units in 0.5 mL")
    assert not MAXIMUM_WORDS.search("The recommended dose is 50 Units per axilla.")
