"""`bontrack fhir ...` and `bontrack export csv`: interoperability from the command line.
Each command: parse the options, call one export or import service, print a summary."""

from __future__ import annotations

import sys
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

    from bontrack.reference import default_reference
    from bontrack.services import exchange

    if (patient is None) == (all_dir is None):
        raise BontrackError("give either --patient ID or --all OUT_DIR")
    _, database = open_store(db)
    ref = default_reference()
    try:
        if patient is not None:
            with database.reading() as uow:
                found = exchange.patient_bundle(uow, ref, patient)
            if found is None:
                raise BontrackError(f"--patient: no patient with id {patient}")
            text, n = found
            if out is None:
                sys.stdout.write(text)
            else:
                out.write_text(text, encoding="utf-8")
                typer.echo(f"wrote {n} resources to {out}", err=True)
            return
        assert all_dir is not None
        with database.reading() as uow:
            clinic_id = _clinic_id(uow, clinic)
            total = exchange.patient_count(uow, clinic_id)
            with Progress("[progress.description]{task.description}", BarColumn(),
                          MofNCompleteColumn(), TimeRemainingColumn(),
                          console=Console(stderr=True)) as progress:
                task = progress.add_task("patients", total=total)
                counts = exchange.write_bulk(uow, ref, all_dir, clinic_id,
                                             on_patients=lambda n: progress.advance(task, n))
        for t, n in counts.items():
            typer.echo(f"{t:<26} {n:>10}  {all_dir / (t + '.ndjson')}")
    finally:
        database.dispose()


@fhir_app.command("definitions")
def fhir_definitions(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write them to.")],
) -> None:
    """Write bontrack's published FHIR definitions (StructureDefinitions of its extensions,
    CodeSystems, ValueSets, NamingSystems) as JSON files, one per resource."""
    from bontrack.reference import default_reference
    from bontrack.services import exchange

    written = exchange.write_definitions(default_reference(), out)
    typer.echo(f"wrote {len(written)} definitions to {out}")


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
    status is 2; nothing is written unless the whole input can be imported. Resources
    bontrack does not import (other types, orders, doses given elsewhere that cannot be
    counted under an identified product) are skipped and listed with the reason; a patient
    already here (same MRN) is updated and nothing imported before is written twice. NDJSON is
    streamed; the input size is limited (BONTRACK_IMPORT_MAX_MB, a single JSON Bundle
    BONTRACK_IMPORT_BUNDLE_MAX_MB). Every imported cycle is re-checked by bontrack.
    """
    from bontrack.fhir.reading import ImportRefused, scan_input
    from bontrack.fhir.registry import REGISTRY
    from bontrack.reference import default_reference
    from bontrack.services import exchange

    _, database = open_store(db)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        inp, problems = scan_input(path, REGISTRY.types)
        with database.unit_of_work() as uow:
            result = exchange.import_fhir(uow, user, default_reference(), inp, path.name,
                                          problems)
        if result is None:
            raise BontrackError(f"--user: no active account {user!r}")
    except ImportRefused as refused:
        for p in refused.problems:
            err.print(f"bontrack: error: {p}", markup=False)
        err.print(f"bontrack: nothing was imported ({len(refused.problems)} problem"
                  f"{'s' if len(refused.problems) != 1 else ''})", markup=False)
        raise typer.Exit(2) from None
    finally:
        database.dispose()
    typer.echo("imported: " + (", ".join(f"{n} {k}" for k, n in sorted(result.counts.items()))
                               or "nothing new"))
    for line in result.warnings:
        typer.echo(f"warning: {line}")
    if result.already:
        typer.echo(f"already imported, not written again: {len(result.already)}")
        for line in result.already:
            typer.echo(f"  {line}")
    if result.skipped:
        typer.echo(f"skipped (not imported): {len(result.skipped)}")
        for p in result.skipped:
            typer.echo(f"  skipped: {p}")
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
    from bontrack.reference import default_reference
    from bontrack.services import exchange

    _, database = open_store(db)
    try:
        with database.reading() as uow:
            counts = exchange.write_csv(uow, default_reference(), out_dir,
                                        _clinic_id(uow, clinic))
    finally:
        database.dispose()
    for table, n in counts.items():
        typer.echo(f"{table:<14} {n:>10}  {out_dir / (table + '.csv')}")
    typer.echo(f"data dictionary  {out_dir / 'data_dictionary.csv'} (see docs/csv.md)")


def _clinic_id(uow, clinic: str | None) -> int | None:  # type: ignore[no-untyped-def]
    from bontrack.services import exchange

    cid = exchange.clinic_id(uow, clinic)
    if cid == -1:
        raise BontrackError(f"--clinic: no clinic named {clinic!r}")
    return cid
