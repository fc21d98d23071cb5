"""Red-flag triage of a reported side effect: symptoms that can mean distant spread of the
toxin (swallowing, breathing, speech, vision, generalised weakness) need urgent care."""

from __future__ import annotations

from collections.abc import Sequence

from bontrack.reference.schema import RedFlag


def red_flags(texts: Sequence[str], flags: Sequence[RedFlag]) -> list[str]:
    """Ids of the red flags whose terms appear in any of ``texts`` (case-insensitive)."""
    joined = " ".join(t.lower() for t in texts)
    return [f.id for f in flags if any(term.lower() in joined for term in f.terms)]
