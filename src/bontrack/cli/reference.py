"""`bontrack reference ...`: what the checker knows, with its sources."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from bontrack.errors import UnknownNameError
from bontrack.reference import Reference, default_reference
from bontrack.reference.loader import _walk_cited
from bontrack.reference.schema import Source

app = typer.Typer(help="List the reference data with sources.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _ref() -> Reference:
    return default_reference()


def _cite(ref: Reference, s: Source | None) -> str:
    return ref.citation(s.document, s.section) if s else ""


def _emit(rows: list[dict[str, Any]], as_json: bool, title: str, columns: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", expand=True)
    for c in columns:
        table.add_column(c.replace("_", " ").capitalize())
    for r in rows:
        table.add_row(*("" if r.get(c) is None else _flat(r[c]) for c in columns))
    Console().print(table)


def _flat(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(_flat(x) for x in v)
    return str(v)


@app.command()
def products(as_json: JsonOpt = False) -> None:
    """Products: brands, vial sizes, dilutions, use-by after reconstitution."""
    ref = _ref()
    rows = []
    for p in ref.products.values():
        rows.append(
            {
                "id": p.id,
                "serotype": p.serotype,
                "brands": p.brands,
                "form": p.form,
                "vial_sizes_units": [str(v.size_units) for v in p.vials],
                "diluent_ml": {
                    str(r.size_units): [str(x) for x in r.diluent_ml] for r in p.reconstitution
                },
                "use_within_hours": (
                    str(p.use_within_hours_after_reconstitution.value)
                    if p.use_within_hours_after_reconstitution
                    else None
                ),
                "rxnorm": [f"{c.code} {c.display}" for c in p.rxnorm],
                "labelled_for": sorted(
                    {f"{e.indication} ({e.population})" for e in p.labels if e.labelled}
                ),
                "sources": sorted({ref.citation(k, "").rstrip(", ") for k in _docs(p)}),
            }
        )
    _emit(
        rows,
        as_json,
        "Products",
        ["id", "brands", "vial_sizes_units", "use_within_hours", "labelled_for"],
    )


def _docs(p: Any) -> set[str]:
    return {c.source.document for _, c in _walk_cited(p, "")}


@app.command()
def indications(as_json: JsonOpt = False) -> None:
    """Indications with ICD-10-CM codes and the products labelled for them."""
    ref = _ref()
    rows = []
    for i in ref.indications.values():
        rows.append(
            {
                "id": i.id,
                "name": i.name,
                "group": i.group,
                "icd10cm": [c.code for c in i.icd10cm],
                "products": sorted(
                    {
                        f"{p.id} ({e.population} {e.ages.min}"
                        + (f"-{e.ages.max})" if e.ages.max is not None else "+)")
                        for p in ref.products.values()
                        for e in p.labels
                        if e.indication == i.id and e.labelled
                    }
                ),
            }
        )
    _emit(rows, as_json, "Indications", ["id", "name", "icd10cm", "products"])


@app.command()
def muscles(
    as_json: JsonOpt = False,
    region: Annotated[str | None, typer.Option(help="Only this body region.")] = None,
) -> None:
    """Muscles and other injection targets, with region, pairing and SNOMED CT code."""
    ref = _ref()
    rows = [
        {
            "id": m.id,
            "name": m.name,
            "region": m.region,
            "paired": m.paired,
            "kind": m.kind,
            "synonyms": m.synonyms,
            "snomed": m.snomed.code if m.snomed else None,
            "snomed_source": _cite(ref, m.snomed.source) if m.snomed else None,
        }
        for m in ref.muscles.values()
        if region is None or m.region == region
    ]
    _emit(rows, as_json, "Muscles", ["id", "name", "region", "paired", "snomed"])


@app.command()
def rules(
    as_json: JsonOpt = False,
    product: Annotated[str | None, typer.Option(help="Only this product (name or brand).")] = None,
    indication: Annotated[str | None, typer.Option(help="Only this indication.")] = None,
) -> None:
    """Every dose rule with its number and source."""
    ref = _ref()
    pid = _resolve(ref, "product", product)
    iid = _resolve(ref, "indication", indication)
    rows: list[dict[str, Any]] = []
    for p in ref.products.values():
        if pid and p.id != pid:
            continue
        for c in p.cumulative_limits:
            if iid and c.indications and iid not in c.indications:
                continue
            rows.append(_rule(ref, p.id, " + ".join(c.indications) if c.indications else "(any)",
                              c.population, "cumulative maximum",
                              _limit_text(c.max_units, c.max_units_per_kg)
                              + f" within {c.describe_window()}", c.source))
        for e in p.labels:
            if not iid or e.indication == iid:
                rows += [_rule(ref, p.id, e.indication, e.population, *r)
                         for r in _entry_rules(e)]
    _emit(
        rows,
        as_json,
        "Dose rules",
        ["product", "indication", "population", "rule", "value", "source"],
    )


def _ages(e: Any) -> str:
    return f"{e.ages.min}-{e.ages.max if e.ages.max is not None else ''}"


def _entry_rules(e: Any) -> list[tuple[str, str, Any]]:
    """(rule, value, source) for every number of one label entry (product, indication,
    population), in the order a reader meets them in the label."""
    if not e.labelled:
        return [("not established", f"ages {_ages(e)}", e.ages.source)]
    out: list[tuple[str, str, Any]] = [("labelled ages", _ages(e), e.ages.source)]
    if e.session_max_units:
        out.append(("session maximum", f"{e.session_max_units.value} U",
                    e.session_max_units.source))
    if e.usual_units:
        out.append(("recommended total (not a maximum)",
                    f"{e.usual_units.min}-{e.usual_units.max} U", e.usual_units.source))
    out += [(f"weight-based maximum ({w.scope})", _limit_text(w.cap_units, w.max_units_per_kg),
             w.source) for w in e.weight_based]
    out += [(f"recommended dose by weight ({w.scope}, not a maximum)",
             _limit_text(w.cap_units, w.max_units_per_kg), w.source)
            for w in e.usual_weight_based]
    for label, value, unit in (
            ("per-site recommended dose (not a maximum)", e.per_site_usual_units, "U"),
            ("per-site recommended volume (not a maximum)", e.per_site_usual_ml, "mL"),
            ("per-site maximum", e.per_site_max_units, "U"),
            ("per-site maximum volume", e.per_site_max_ml, "mL")):
        if value:
            out.append((label, f"{value.value} {unit}", value.source))
    if e.retreatment_min_interval:
        out.append(("minimum retreatment interval", e.retreatment_min_interval.describe(),
                    e.retreatment_min_interval.source))
    out += [(f"{lim.muscle} limit ({lim.finding})", f"{lim.max_units} U", lim.source)
            for lim in e.muscle_limits]
    for row in e.muscles:
        dose = (f"{row.units.min}-{row.units.max} U" if row.units
                else f"{row.units_per_kg.min}-{row.units_per_kg.max} U/kg" if row.units_per_kg
                else "")
        sites = f", {row.sites.min}-{row.sites.max} sites" if row.sites else ""
        out.append((f"muscle {'/'.join(row.row_muscles)}"
                    + (" (both sides)" if row.both_sides else ""), dose + sites, row.source))
    return out


def _limit_text(units: Any, per_kg: Any) -> str:
    parts = []
    if per_kg is not None:
        parts.append(f"{per_kg} U/kg")
    if units is not None:
        parts.append(f"{units} U")
    return " or ".join(parts) + (", whichever is lower" if len(parts) == 2 else "")


def _rule(
    ref: Reference,
    product: str,
    indication: str,
    population: str,
    rule: str,
    value: str,
    source: Source,
) -> dict[str, Any]:
    return {
        "product": product,
        "indication": indication,
        "population": population,
        "rule": rule,
        "value": value,
        "source": _cite(ref, source),
        "quote": source.quote,
    }


def _resolve(ref: Reference, kind: str, name: str | None) -> str | None:
    if name is None:
        return None

    found = ref.product_id(name) if kind == "product" else ref.indication_id(name)
    if found is None:
        raise UnknownNameError(f"--{kind}", "", name, kind, ref.suggest(kind, name))
    return found
