"""`bontrack patterns ...`: the posture and pattern templates, and a proposal of injection
rows from them for one product, indication and patient (docs/cli.md#patterns)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from bontrack.clinical.patterns import pattern_doc, patterns_for, proposal_doc, propose
from bontrack.errors import BontrackError
from bontrack.reference import default_reference

patterns_app = typer.Typer(help="Posture and pattern templates, and proposals from them.",
                           no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@patterns_app.command("list")
def list_patterns(
    as_json: JsonOpt = False,
    indication: Annotated[str | None, typer.Option(help="Only patterns for this indication.")]
    = None,
) -> None:
    """The patterns with their muscles and the source of each grouping."""
    ref = default_reference()
    ind = None
    if indication is not None:
        ind = ref.indication_id(indication)
        if ind is None:
            raise BontrackError(f"--indication: unknown indication {indication!r}")
    docs = [pattern_doc(ref, p) for p in patterns_for(ref, ind)]
    if as_json:
        typer.echo(json.dumps(docs, indent=2, ensure_ascii=False))
        return
    table = Table(title="Patterns", box=box.SIMPLE_HEAVY, title_justify="left", expand=True)
    for c in ("Id", "Name", "Region", "Indications", "Muscles", "Source"):
        table.add_column(c)
    for d in docs:
        table.add_row(d["id"], d["name"], d["region"], ", ".join(d["indications"]),
                      ", ".join(m["name"] + ("" if m["side"] == "same" else " (opposite side)")
                                for m in d["muscles"]),
                      "; ".join(s["citation"] for s in d["sources"]))
    Console().print(table)


@patterns_app.command("propose")
def propose_command(
    patterns: Annotated[list[str], typer.Argument(help="Pattern ids (bontrack patterns list).")],
    product: Annotated[str, typer.Option(help="Product (name or brand).")],
    indication: Annotated[str, typer.Option(help="Indication (id or name).")],
    age: Annotated[int, typer.Option(help="Patient's age in whole years.")],
    side: Annotated[str, typer.Option(help="left, right or both.")],
    weight: Annotated[str | None, typer.Option(help="Weight in kg (for doses per kg).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Injection rows from the product's own label: each muscle's lower label bound and the
    label's sites, with the range and its source; muscles without a label dose are listed."""
    ref = default_reference()
    kg = None
    if weight is not None:
        try:
            kg = Decimal(weight)
        except InvalidOperation:
            raise BontrackError(f"--weight: must be a number of kg, got {weight!r}") from None
    doc = proposal_doc(propose(ref, patterns, ref.product_id(product) or product,
                               ref.indication_id(indication) or indication, age, kg, side,
                               date.today()))
    if as_json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    con = Console()
    table = Table(title=f"Proposal: {doc['product']}, {doc['indication']} "
                  f"({doc['population'] or 'no label entry'}), total {doc['total_units']} U",
                  box=box.SIMPLE_HEAVY, title_justify="left", expand=True)
    for c in ("Muscle", "Side", "Units", "Sites", "Label range", "Label sites", "Source"):
        table.add_column(c)
    for r in doc["injections"]:
        table.add_row(r["muscle_name"], r["side"], r["units"], str(r["sites"]),
                      r["label_range"], r["label_sites"] or "", r["dose_source"]["citation"])
    con.print(table)
    for n in doc["not_proposed"]:
        con.print(f"Not proposed: {n['muscle_name']}: {n['reason']}")
    for s in doc["stops"]:
        con.print(f"STOP {s['code']}: {s['message']}")
    for note in doc["notes"]:
        con.print(note)
