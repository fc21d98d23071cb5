"""`bontrack fhir ...` and `bontrack export csv`: interoperability from the command line.
Each command: parse the options, call one export or import service, print a summary."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bontrack.cli.store_commands import DbOpt, open_store
from bontrack.errors import BontrackError

fhir_app = typer.Typer(help="HL7 FHIR R4: export, import.", no_args_is_help=True)
export_app = typer.Typer(help="Flat exports for spreadsheets and statistics.",
                         no_args_is_help=True)


@fhir_app.command("export")
def fhir_export(
    patient: Annotated[int | None, typer.Option("--patient", help="Patient id: write one "
                                                "FHIR Bundle (collection).")] = None,
    all_dir: Annotated[Path | None, typer.Option("--all", help="Directory: write Bulk Data "
                                                 "NDJSON, one file per resource type.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Bundle file (default: "
                                             "standard output).")] = None,
    clinic: Annotated[str | None, typer.Option(help="Only this clinic (with --all).")] = None,
    db: DbOpt = None,
) -> None:
    """Export FHIR R4: a patient's Bundle, or every patient as Bulk Data NDJSON."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from bontrack.fhir import export
    from bontrack.reference import default_reference

    if (patient is None) == (all_dir is None):
        raise BontrackError("give either --patient ID or --all OUT_DIR")
    _, engine, _ = open_store(db)
    reader = export.reader_engine(engine)
    from bontrack.store.db import session_factory

    try:
        with session_factory(reader, writer=False)() as s:
            ctx = export.context(s, default_reference())
            if patient is not None:
                from bontrack.store.models import Patient

                if s.get(Patient, patient) is None:
                    raise BontrackError(f"--patient: no patient with id {patient}")
                entries = list(export.resources(s, ctx, patient_ids=[patient]))
                text = export.dumps(export.bundle(
                    entries, timestamp=datetime.now(UTC).isoformat())) + "\n"
                if out is None:
                    sys.stdout.write(text)
                else:
                    out.write_text(text, encoding="utf-8")
                    typer.echo(f"wrote {len(entries)} resources to {out}", err=True)
                return
            assert all_dir is not None
            clinic_id = _clinic_id(s, clinic)
            total = _patient_count(s, clinic_id)
            with Progress("[progress.description]{task.description}", BarColumn(),
                          MofNCompleteColumn(), TimeRemainingColumn(),
                          console=Console(stderr=True)) as progress:
                task = progress.add_task("patients", total=total)
                counts = export.write_ndjson(s, ctx, all_dir, clinic_id,
                                             on_patients=lambda n: progress.advance(task, n))
        for t, n in counts.items():
            typer.echo(f"{t:<26} {n:>10}  {all_dir / (t + '.ndjson')}")
    finally:
        reader.dispose()
        engine.dispose()


@fhir_app.command("import")
def fhir_import(
    path: Annotated[Path, typer.Argument(help="A FHIR Bundle (JSON), an NDJSON file, or a "
                                         "directory of Bulk Data .ndjson files.")],
    user: Annotated[str, typer.Option("--user", help="Username of the clinician or admin "
                                      "importing (records go to their clinic).")],
    db: DbOpt = None,
) -> None:
    """Import FHIR R4 resources in one transaction: all or nothing.

    Every problem is printed on its own line (resource, element path, reason) and the exit
    status is 2; nothing is written unless the whole input can be imported.
    """
    from sqlalchemy import select

    from bontrack.fhir.importer import import_items
    from bontrack.fhir.reading import ImportRefused, read_input
    from bontrack.reference import default_reference
    from bontrack.services import accounts
    from bontrack.store.db import transaction
    from bontrack.store.models import User

    _, engine, sessions = open_store(db)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        items, problems = read_input(path)
        with transaction(sessions) as s:
            u = s.scalar(select(User).where(User.username == user))
            if u is None or u.disabled:
                raise BontrackError(f"--user: no active account {user!r}")
            result = import_items(s, accounts.actor_of(u), default_reference(), items,
                                  path.name, problems)
    except ImportRefused as refused:
        for p in refused.problems:
            err.print(f"bontrack: error: {p}", markup=False)
        err.print(f"bontrack: nothing was imported ({len(refused.problems)} problem"
                  f"{'s' if len(refused.problems) != 1 else ''})", markup=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo("imported: " + ", ".join(f"{n} {k}" for k, n in sorted(result.counts.items())))
    if result.unmatched_people:
        typer.echo(f"{len(result.unmatched_people)} people named in the file have no account "
                   f"here and were recorded as {user!r} (their names are in the audit trail)")


@export_app.command("csv")
def export_csv(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the CSV files.")],
    clinic: Annotated[str | None, typer.Option(help="Only this clinic.")] = None,
    db: DbOpt = None,
) -> None:
    """Write cycles, injections, outcomes and side effects as CSV, with a data dictionary."""
    from bontrack.fhir.export import reader_engine
    from bontrack.interop.csv_tables import write_tables
    from bontrack.reference import default_reference
    from bontrack.store.db import session_factory

    _, engine, _ = open_store(db)
    reader = reader_engine(engine)
    try:
        with session_factory(reader, writer=False)() as s:
            counts = write_tables(s, default_reference(), out_dir, _clinic_id(s, clinic))
    finally:
        reader.dispose()
        engine.dispose()
    for table, n in counts.items():
        typer.echo(f"{table:<14} {n:>10}  {out_dir / (table + '.csv')}")
    typer.echo(f"data dictionary  {out_dir / 'data_dictionary.csv'} (see docs/csv.md)")


def _clinic_id(s, clinic: str | None) -> int | None:  # type: ignore[no-untyped-def]
    if clinic is None:
        return None
    from sqlalchemy import select

    from bontrack.store.models import Clinic

    cid = s.scalar(select(Clinic.id).where(Clinic.name == clinic))
    if cid is None:
        raise BontrackError(f"--clinic: no clinic named {clinic!r}")
    return int(cid)


def _patient_count(s, clinic_id: int | None) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from bontrack.store.models import Patient

    stmt = select(func.count()).select_from(Patient)
    if clinic_id is not None:
        stmt = stmt.where(Patient.clinic_id == clinic_id)
    return int(s.scalar(stmt) or 0)
