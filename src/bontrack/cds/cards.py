"""CDS Hooks cards from the plan check's findings and from what was not checked.

A stop is ``critical``, a warning ``warning``, information ``info`` (LIMIT_NOT_AVAILABLE among
it: a check that could not run is said, never left out). Each finding's card carries the
value, the limit and the label citation (as the card's ``source.label``) and a link to open
bontrack's planner for the patient. A product checked with nothing above information still
gets a card saying what was checked: silence is never read as safety.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bontrack.clinical.findings import Finding, Severity

INDICATOR = {Severity.STOP: "critical", Severity.WARNING: "warning", Severity.INFO: "info"}
_RANK = {"critical": 0, "warning": 1, "info": 2}
#: The ``source.label`` of cards that come from bontrack itself rather than a label.
BONTRACK = "bontrack plan check"
#: The code system of the finding codes in a card's ``source.topic``.
FINDING_SYSTEM = "https://fhir.bontrack.org/CodeSystem/finding"
SUMMARY_MAX = 140


@dataclass(frozen=True, slots=True)
class Note:
    """A card bontrack adds about the call itself: what was not read or not checked."""

    indicator: str
    summary: str
    detail: str
    code: str = "CDS_NOTE"
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """One product's plan check, as the cards need it."""

    product: str
    product_name: str
    indication_name: str
    total_units: Decimal
    findings: tuple[Finding, ...]


def amount(x: Decimal | None) -> str:
    """A number as a clinician reads it (no trailing zeros, no exponent)."""
    if x is None:
        return ""
    text = format(x.normalize(), "f") if x == x.to_integral_value() else format(x, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _with_unit(x: Decimal | None, unit: str | None) -> str:
    return f"{amount(x)} {unit}".strip() if unit else amount(x)


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def finding_card(f: Finding, c: Checked, planner: str | None) -> dict[str, Any]:
    """The card of one finding: the message, value, limit and source."""
    title = f.code.replace("_", " ").lower()
    figures = ""
    if f.value is not None and f.limit is not None:
        figures = f" ({_with_unit(f.value, f.unit)}; limit {_with_unit(f.limit, f.unit)})"
    lines = [f.message, ""]
    if f.value is not None:
        lines.append(f"- Value: {_with_unit(f.value, f.unit)}")
    if f.limit is not None:
        lines.append(f"- Limit: {_with_unit(f.limit, f.unit)}")
    lines.append(f"- Source: {f.source or 'not from a label (bontrack)'}")
    if f.quote:
        lines.append(f'- Label text: "{f.quote}"')
    lines.append(f"- Code: {f.code} ({f.severity.label}); {c.product_name}, "
                 f"{c.indication_name}, order total {amount(c.total_units)} U")
    return card(INDICATOR[f.severity], f"{c.product_name}: {title}{figures}",
                "\n".join(lines), f.source or BONTRACK, f.code, planner)


def card(indicator: str, summary: str, detail: str, source: str, code: str,
         planner: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": _summary(summary),
        "detail": detail,
        "indicator": indicator,
        "source": {"label": source[:200],
                   "topic": {"system": FINDING_SYSTEM, "code": code}},
    }
    if planner:
        out["links"] = [{"label": "Open the bontrack planner", "url": planner,
                         "type": "absolute"}]
    return out


def checked_card(c: Checked, planner: str | None) -> dict[str, Any] | None:
    """A card for a product whose check found nothing above information."""
    if any(f.severity > Severity.INFO for f in c.findings):
        return None
    return card("info", f"{c.product_name}: no stop or warning in the plan check "
                f"({amount(c.total_units)} U)",
                f"The order ({amount(c.total_units)} U of {c.product_name} for "
                f"{c.indication_name}) was checked against bontrack's cited label limits and "
                "the patient's history in bontrack; see the other cards for what could not "
                "be checked.", BONTRACK, "CHECKED", planner)


def cards_for(checked: list[Checked], notes: list[Note], instance: str,
              planner: str | None) -> list[dict[str, Any]]:
    """Every card of one hook call, most severe first; each with a stable uuid derived
    from the hook instance (the same call answers the same cards)."""
    out = [note_card(n, planner) for n in notes]
    for c in checked:
        out += [finding_card(f, c, planner) for f in c.findings]
        done = checked_card(c, planner)
        if done is not None:
            out.append(done)
    out.sort(key=lambda k: _RANK[k["indicator"]])
    space = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:bontrack:cds:{instance}")
    return [{"uuid": str(uuid.uuid5(space, str(n))), **k} for n, k in enumerate(out)]


def note_card(n: Note, planner: str | None) -> dict[str, Any]:
    return card(n.indicator, n.summary, n.detail, n.source or BONTRACK, n.code, planner)
