"""`bontrack report`: PDF documents written to a file (patient visit report, cycle summary,
clinic report). Each runs as a named account (``--as``), with that account's role rules,
and is recorded in the audit trail like the same download in the web app."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bontrack.cli.store_commands import DbOpt, open_store
from bontrack.errors import BontrackError

report_app = typer.Typer(help="PDF reports: patient visit report, cycle summary, clinic report.",
                         no_args_is_help=True)

AsOpt = Annotated[str, typer.Option("--as", help="Username the report is made for (their "
                                    "role rules apply; recorded in the audit trail).")]


def _out(default: str):  # type: ignore[no-untyped-def]
    return typer.Option("-o", "--output", help=f"PDF file to write (default: {default}).")


def _run(db: str | None, username: str, make, output: Path) -> None:  # type: ignore[no-untyped-def]
    from bontrack.reference import default_reference
    from bontrack.services import accounts

    if output.is_dir():
        raise BontrackError(f"-o: {output} is a folder; give a file name ending in .pdf")
    if not output.parent.exists():
        raise BontrackError(f"-o: the folder {output.parent} does not exist")
    _, database = open_store(db)
    try:
        with database.unit_of_work() as uow:
            actor = accounts.active_actor(uow, username)
            if actor is None:
                raise BontrackError(f"--as: no active account {username!r}")
            body = make(uow, actor, default_reference())
    finally:
        database.dispose()
    output.write_bytes(body)
    typer.echo(f"wrote {output} ({len(body):,} bytes)")


def _error(exc: BontrackError) -> BontrackError:
    from bontrack.errors import RecordError

    if isinstance(exc, RecordError):
        return BontrackError(exc.message)
    return exc


@report_app.command("patient")
def report_patient(
    patient_id: Annotated[int, typer.Argument(help="Patient id.")],
    as_user: AsOpt,
    output: Annotated[Path | None, _out("visit-report-ID.pdf")] = None,
    db: DbOpt = None,
) -> None:
    """The patient visit report, in plain language."""
    from bontrack.reports import documents

    try:
        _run(db, as_user, lambda s, a, r: documents.patient_report(s, a, patient_id, r,
                                                                  today=date.today()),
             output or Path(f"visit-report-{patient_id}.pdf"))
    except BontrackError as exc:
        raise _error(exc) from None


@report_app.command("cycle")
def report_cycle(
    cycle_id: Annotated[int, typer.Argument(help="Cycle id.")],
    as_user: AsOpt,
    output: Annotated[Path | None, _out("cycle-summary-ID.pdf")] = None,
    db: DbOpt = None,
) -> None:
    """The clinician's summary of one treatment cycle."""
    from bontrack.reports import documents

    try:
        _run(db, as_user, lambda s, a, r: documents.cycle_summary(s, a, cycle_id, r),
             output or Path(f"cycle-summary-{cycle_id}.pdf"))
    except BontrackError as exc:
        raise _error(exc) from None


@report_app.command("clinic")
def report_clinic(
    as_user: AsOpt,
    date_from: Annotated[str | None, typer.Option("--from", metavar="YYYY-MM-DD",
                                                  help="First cycle date included.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", metavar="YYYY-MM-DD",
                                                help="Last cycle date included.")] = None,
    indication: Annotated[str | None, typer.Option(help="Only this indication.")] = None,
    product: Annotated[str | None, typer.Option(help="Only this product.")] = None,
    clinician: Annotated[str | None, typer.Option(help="Only this clinician's cycles "
                                                  "(username or id).")] = None,
    output: Annotated[Path | None, _out("clinic-report.pdf")] = None,
    db: DbOpt = None,
) -> None:
    """The clinic report for a date range: responders, duration of benefit, side effects
    next to the label, intervals, units discarded."""
    from bontrack import analytics
    from bontrack.reports import documents

    raw = {"from": date_from, "to": date_to, "indication": indication, "product": product,
           "clinician": clinician}

    def make(s, actor, ref):  # type: ignore[no-untyped-def]
        try:
            f = analytics.read_filters(s, actor, ref, raw)
        except BontrackError as exc:  # name the command-line option
            message = getattr(exc, "message", str(exc))
            raise BontrackError(f"--{message}") from None
        return documents.clinic_report(s, actor, ref, f)

    try:
        _run(db, as_user, make, output or Path("clinic-report.pdf"))
    except BontrackError as exc:
        raise _error(exc) from None
