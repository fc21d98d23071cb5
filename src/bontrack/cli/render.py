"""Readable reports for the terminal (Rich tables)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bontrack.clinical.display import units_text

STYLE = {
    "stop": "bold white on red",
    "warning": "bold black on yellow",
    "info": "cyan",
    "ok": "bold white on green",
}


def _n(x: Any) -> str:
    return "" if x is None else str(x)


def verdict_line(result: dict[str, Any]) -> str:
    """The verdict as a reader sees it: never a bare "ok" when checks could not run
    ("ok — 3 checks not available"), and "ok — every check ran" only when all did."""
    verdict = str(result["verdict"])
    missing = result.get("checks_not_available") or []
    if missing:
        return f"{verdict} — {len(missing)} check{'s' if len(missing) != 1 else ''} not available"
    if verdict == "ok":
        return "ok — every check ran"
    return verdict


def check_report(result: dict[str, Any]) -> Group:
    """The plan-check report: verdict, findings with limit and source, preparation."""
    verdict = result["verdict"]
    head = Text.assemble(
        (f" {verdict.upper()}{verdict_line(result)[len(verdict):]} ", STYLE[verdict]),
        f"  {result['product']} for {result['indication']}  ·  {result['date']}  ·  "
        f"age {result['age_years']} ({result['population']})  ·  total "
        f"{_n(result['total_units'])} U",
    )
    findings = Table(box=box.SIMPLE_HEAVY, expand=True, title="Findings", title_justify="left")
    findings.add_column("Severity", no_wrap=True)
    findings.add_column("Code", no_wrap=True)
    findings.add_column("Finding (and its source)", ratio=1)
    findings.add_column("Value / limit", no_wrap=True)
    for f in result["findings"]:
        vl = ""
        if f["value"] is not None or f["limit"] is not None:
            vl = f"{_n(f['value'])} / {_n(f['limit'])} {f['unit'] or ''}".strip()
        findings.add_row(
            Text(f["severity"], style=STYLE[f["severity"]]),
            f["code"],
            Text.assemble(f["message"], ("\n" + (f["source"] or "no cited source"), "dim")),
            vl,
        )
    if not result["findings"]:
        findings.add_row(
            Text("ok", style=STYLE["ok"]),
            "—",
            "Nothing found, and every check ran (session, per kg, cumulative, interval, "
            "per muscle, per site, interactions, contraindications).",
            "",
        )

    prep = result["preparation"]
    ptable = Table(box=box.SIMPLE, title="Preparation", title_justify="left")
    for col in ("Muscle", "Side", "Units", "Sites", "U/site", "mL/site"):
        ptable.add_column(col, justify="right" if col not in ("Muscle", "Side") else "left")
    for i in prep["per_injection"]:
        ptable.add_row(
            i["muscle"],
            i["side"],
            _n(i["units"]),
            _n(i["sites"]),
            units_text(i["units_per_site"]),
            _n(i["ml_per_site"]) or "—",
        )
    lines = [
        f"Units per 0.1 mL: {_n(prep['units_per_0_1_ml']) or '— (mixed or unknown dilution)'}",
        f"Vials needed: {_n(prep['vials_needed']) or '—'}"
        + (
            f" (suggested sizes: {', '.join(str(s) for s in prep['suggested_vials'])} U)"
            if prep["suggested_vials"]
            else ""
        ),
        f"Units discarded: {_n(prep['units_discarded']) or '—'}"
        + (f"  (billing modifier {prep['billing_modifier']})" if prep["billing_modifier"] else ""),
        f"Next cycle no earlier than: {result['next_earliest_date'] or '— (no cited interval)'}"
        + (
            f"  [{result['next_earliest_date_source']}]"
            if result["next_earliest_date_source"]
            else ""
        ),
    ]
    course = result["effect_course"]
    for key, label in (
        ("onset", "Expected onset"),
        ("peak", "Expected peak"),
        ("wear_off", "Expected wear-off"),
    ):
        w = course[key]
        if w:
            lines.append(f"{label}: {w['earliest'] or '…'} to {w['latest'] or '…'}")
    lines.append(f"Reference data version: {result['reference_version']}")
    return Group(Panel(head, box=box.HEAVY), findings, ptable, Text("\n".join(lines)))


def print_report(result: dict[str, Any], console: Console | None = None) -> None:
    (console or Console()).print(check_report(result))
