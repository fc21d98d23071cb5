"""Triage of what a patient writes, as one use case for the CLI, the API, the side-effect
form and the diary: the rule is ``clinical.triage``; this module shapes its result into the
public contract (../shared/contracts/triage.md, docs/triage.md) and stores it with a record.
"""

from __future__ import annotations

from typing import Any, Literal

from bontrack.clinical.triage import FlagMatch, TriageResult, flag_by_id, triage, triage_long
from bontrack.errors import InvalidRecord
from bontrack.reference import Reference

#: The longest report read (characters); a longer one is refused, not cut.
MAX_CHARS = 20_000

Level = Literal["urgent", "unclear", "not_urgent"]
#: Order of the clinic's list: urgent first, then unclear, then the rest.
LEVEL_RANK: dict[str, int] = {"urgent": 0, "unclear": 1, "not_urgent": 2}


def _flag(f: FlagMatch, ref: Reference) -> dict[str, Any]:
    rf = flag_by_id(ref.triage, f.id)
    out: dict[str, Any] = {
        "id": f.id,
        "matched": f.matched,
        "source": ref.citation(rf.source.document, rf.source.section),
    }
    if f.reason is not None:
        out["reason"] = f.reason
    return out


def result_doc(result: TriageResult, ref: Reference) -> dict[str, Any]:
    """The contract's JSON result. ``urgent``, ``flags``, ``advice`` and ``unclear`` are the
    contract; ``level``, ``possible`` (what made it unclear: a negated or a vague mention, with
    its words), ``unread`` (the words not read, when the text as a whole could not be: "" for
    a text with no words) and ``reference_version`` are extensions."""
    return {
        "urgent": result.urgent,
        "flags": [_flag(f, ref) for f in result.flags],
        "advice": result.advice,
        "unclear": result.unclear,
        "level": result.level,
        "possible": [_flag(f, ref) for f in result.possible],
        "unread": list(result.unread),
        "reference_version": ref.version,
    }


def check_text(text: str, field: str = "text") -> str:
    """The report as given, or an error naming the field when it cannot be triaged."""
    if not text.strip():
        raise InvalidRecord(f"{field}: is empty; write what happened", field=field)
    if len(text) > MAX_CHARS:
        raise InvalidRecord(
            f"{field}: is {len(text)} characters long; at most {MAX_CHARS} are read",
            field=field,
        )
    return text


def triage_text(text: str, ref: Reference, field: str = "text") -> dict[str, Any]:
    """Triage one report; the contract's JSON result."""
    return result_doc(triage(check_text(text, field), ref.triage), ref)


def triage_any_length(text: str, ref: Reference, field: str = "text") -> dict[str, Any]:
    """Triage one report of any length (the command line: a long urgent message is never
    refused); read in windows of ``MAX_CHARS`` characters, urgent when any window is."""
    if not text.strip():
        raise InvalidRecord(f"{field}: is empty; write what happened", field=field)
    return result_doc(triage_long(text, ref.triage, MAX_CHARS), ref)


def triage_texts(texts: list[str], ref: Reference) -> dict[str, Any]:
    """Triage what a patient wrote in several fields of one record, as one report (each
    field its own sentence, so a negation in one does not reach into another)."""
    return result_doc(triage("\n".join(t for t in texts if t), ref.triage), ref)


def level_of(doc: dict[str, Any] | None, red_flags: list[str] | None) -> str:
    """The level stored with a record (records made before triage was stored: by red flags)."""
    if doc and doc.get("level") in LEVEL_RANK:
        return str(doc["level"])
    return "urgent" if red_flags else "not_urgent"
