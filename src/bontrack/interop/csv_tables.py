"""Flat CSV tables of cycles, injections, outcomes and side effects, with a data
dictionary written beside them. Rows stream from the database (server-side cursors on
PostgreSQL, ``yield_per`` everywhere), so memory stays flat whatever the registry size.

Units are product-specific: every row with units names its product, and nothing here sums
units across products.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bontrack.reference import Reference
from bontrack.spreadsheet import neutralise, safe
from bontrack.store.models import Cycle, Injection, Outcome, Patient, SideEffect, User

CHUNK = 5_000
#: Column kinds whose numbers are written as numbers (a negative value keeps its minus sign);
#: every other cell, and any non-number in these columns, is neutralised against formulas.
NUMERIC = frozenset({"integer", "decimal"})


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # integer, decimal, date, datetime, text, boolean, code, list
    unit: str
    description: str


def col(name: str, kind: str, description: str, unit: str = "") -> Column:
    return Column(name, kind, unit, description)


TABLES: dict[str, tuple[Column, ...]] = {
    "cycles": (
        col("cycle_id", "integer", "Treatment cycle (session) id"),
        col("patient_id", "integer", "Patient id (pseudonymous within this export)"),
        col("clinic_id", "integer", "Clinic id"),
        col("date", "date", "Day of the injections"),
        col("age_years", "integer", "Patient's age in whole years on that day", "a"),
        col("sex", "code", "female, male, other or unknown"),
        col("product", "code", "Product id (units are specific to it)"),
        col("indication", "code", "Indication id of the reference data"),
        col("status", "code", "draft, signed or entered_in_error"),
        col("verdict", "code", "Plan-check verdict when recorded: ok, warning, stop "
            "(overridden), or imported"),
        col("reference_version", "text", "Reference-data version the plan was checked with"),
        col("total_units", "decimal", "Units given in the cycle", "product units"),
        col("weight_kg", "decimal", "Weight used for the check", "kg"),
        col("n_injections", "integer", "Number of injections (muscle x side)"),
        col("consent_recorded", "boolean", "Consent discussion recorded (true/false)"),
        col("clinician", "text", "Login name of the injecting clinician"),
        col("signed_at", "datetime", "When the cycle was signed (UTC)"),
        col("next_earliest_date", "date", "Earliest safe day for the next cycle"),
    ),
    "injections": (
        col("injection_id", "integer", "Injection id"),
        col("cycle_id", "integer", "Cycle it belongs to"),
        col("patient_id", "integer", "Patient id"),
        col("date", "date", "Day of the cycle"),
        col("product", "code", "Product id (units are specific to it)"),
        col("muscle", "code", "Injection target id of the reference data"),
        col("muscle_snomed", "code", "SNOMED CT structure code where verified, else empty"),
        col("side", "code", "left, right or midline"),
        col("units", "decimal", "Units injected", "product units"),
        col("sites", "integer", "Number of injection points"),
        col("volume_ml", "decimal", "Volume injected", "mL"),
        col("guidance", "code", "anatomic, emg, estim, ultrasound or empty"),
        col("cycle_status", "code", "Status of the cycle (draft, signed, entered_in_error)"),
    ),
    "outcomes": (
        col("outcome_id", "integer", "Outcome measurement id"),
        col("patient_id", "integer", "Patient id"),
        col("cycle_id", "integer", "Cycle it follows, if linked"),
        col("scale", "code", "Outcome scale id (see docs/csv.md)"),
        col("value", "decimal", "Numeric value (Modified Ashworth 1+ is 1.5)"),
        col("value_text", "text", "The value as the scale writes it"),
        col("muscle", "code", "Muscle measured, if any"),
        col("side", "code", "left, right, midline, bilateral or empty"),
        col("region", "text", "Joint or region, free text"),
        col("measured_at", "datetime", "When measured (UTC)"),
        col("days_after_cycle", "integer", "Days from the linked cycle to the measurement",
            "d"),
        col("status", "code", "active (records entered in error are left out)"),
    ),
    "side_effects": (
        col("side_effect_id", "integer", "Side-effect report id"),
        col("patient_id", "integer", "Patient id"),
        col("cycle_id", "integer", "Suspected cycle, if linked"),
        col("term", "text", "What happened, in the reporter's words"),
        col("onset", "date", "Day it began"),
        col("days_after_cycle", "integer", "Days from the linked cycle to the onset", "d"),
        col("severity", "code", "mild, moderate or severe"),
        col("serious", "boolean", "Serious (true/false)"),
        col("outcome", "code", "recovering, recovered, not_recovered, fatal or unknown"),
        col("relatedness", "code", "related, possibly_related, unlikely_related, "
            "not_related or unknown"),
        col("red_flags", "list", "Red-flag triage ids, separated by ;"),
        col("status", "code", "active (records entered in error are left out)"),
    ),
}


def cell(value: Any) -> str:
    """One value as written in the CSV: ISO dates, plain decimals, true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        # stored times without a zone (SQLite) are UTC, as on PostgreSQL
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def written(column: Column, value: Any) -> str:
    """The cell of ``value`` in ``column``, safe to open in a spreadsheet (docs/csv.md)."""
    text = cell(value)
    return safe(value, text) if column.kind in NUMERIC else neutralise(text)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _days(start: date | None, when: date | datetime) -> int | None:
    if start is None:
        return None
    day = when.date() if isinstance(when, datetime) else when
    return (day - start).days


def _stream(session: Session, stmt: Select[Any]) -> Iterable[Any]:
    return session.execute(stmt.execution_options(yield_per=CHUNK, stream_results=True))


def _queries(ref: Reference, clinic_id: int | None
             ) -> dict[str, tuple[Select[Any], Callable[[Any], list[Any]]]]:
    cy, p, u, inj = Cycle.__table__, Patient.__table__, User.__table__, Injection.__table__
    o, se = Outcome.__table__, SideEffect.__table__

    def scoped(stmt: Select[Any]) -> Select[Any]:
        return stmt if clinic_id is None else stmt.where(p.c.clinic_id == clinic_id)


    counts = (select(inj.c.cycle_id, func.count().label("n")).group_by(inj.c.cycle_id)
              .subquery())
    cycles = scoped(
        select(cy, p.c.birth_date, p.c.sex, u.c.username, counts.c.n)
        .join(p, p.c.id == cy.c.patient_id).join(u, u.c.id == cy.c.clinician_id)
        .outerjoin(counts, counts.c.cycle_id == cy.c.id).order_by(cy.c.id))
    injections = scoped(
        select(inj, cy.c.patient_id, cy.c.date, cy.c.product, cy.c.status.label("cstatus"))
        .join(cy, cy.c.id == inj.c.cycle_id).join(p, p.c.id == cy.c.patient_id)
        .order_by(inj.c.id))
    # an outcome or side effect entered in error is left out (kept in the record only)
    outcomes = scoped(select(o, cy.c.date.label("cdate")).join(p, p.c.id == o.c.patient_id)
                      .outerjoin(cy, cy.c.id == o.c.cycle_id)
                      .where(o.c.status == "active").order_by(o.c.id))
    side_effects = scoped(select(se, cy.c.date.label("cdate"))
                          .join(p, p.c.id == se.c.patient_id)
                          .outerjoin(cy, cy.c.id == se.c.cycle_id)
                          .where(se.c.status == "active").order_by(se.c.id))

    def snomed(muscle: str) -> str | None:
        m = ref.muscles.get(muscle)
        return m.snomed.code if m is not None and m.snomed is not None else None

    return {
        "cycles": (cycles, lambda r: [
            r.id, r.patient_id, r.clinic_id, r.date, _age(r.birth_date, r.date), r.sex,
            r.product, r.indication, r.status, r.verdict, r.reference_version, r.total_units,
            r.weight_kg, r.n or 0, r.consent_recorded, r.username, r.signed_at,
            r.next_earliest_date]),
        "injections": (injections, lambda r: [
            r.id, r.cycle_id, r.patient_id, r.date, r.product, r.muscle, snomed(r.muscle),
            r.side, r.units, r.sites, r.volume_ml, r.guidance, r.cstatus]),
        "outcomes": (outcomes, lambda r: [
            r.id, r.patient_id, r.cycle_id, r.scale, r.value, r.value_text, r.muscle, r.side,
            r.region, r.measured_at, _days(r.cdate, r.measured_at), r.status]),
        "side_effects": (side_effects, lambda r: [
            r.id, r.patient_id, r.cycle_id, r.term, r.onset, _days(r.cdate, r.onset),
            r.severity, r.serious, r.outcome, r.relatedness, list(r.red_flags or []),
            r.status]),
    }


def write_dictionary(out_dir: Path) -> Path:
    path = out_dir / "data_dictionary.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "column", "type", "unit", "description"])
        for table, columns in TABLES.items():
            for c in columns:
                w.writerow([neutralise(v) for v in (f"{table}.csv", c.name, c.kind, c.unit,
                                                    c.description)])
    return path


def write_tables(session: Session, ref: Reference, out_dir: Path,
                 clinic_id: int | None = None,
                 on_rows: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Write ``cycles.csv``, ``injections.csv``, ``outcomes.csv``, ``side_effects.csv`` and
    ``data_dictionary.csv``; return the number of rows per table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for table, (stmt, row) in _queries(ref, clinic_id).items():
        n = 0
        with (out_dir / f"{table}.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow([c.name for c in TABLES[table]])
            columns = TABLES[table]
            for r in _stream(session, stmt):
                w.writerow([written(c, v) for c, v in zip(columns, row(r), strict=True)])
                n += 1
                if on_rows and n % CHUNK == 0:
                    on_rows(table, CHUNK)
        if on_rows:
            on_rows(table, n % CHUNK)
        counts[table] = n
    write_dictionary(out_dir)
    return counts
