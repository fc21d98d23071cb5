"""`bontrack`: the command line.

Errors a person can act on (a bad plan, a malformed reference file) are printed as one line
on standard error with exit status 2; no traceback ever reaches the terminal.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from bontrack import __version__
from bontrack.cli import (
    audit_commands,
    fhir_commands,
    store_commands,
    triage_command,
    worker_command,
)
from bontrack.cli.documents import read_document
from bontrack.cli.pattern_command import patterns_app
from bontrack.cli.reference import app as reference_app
from bontrack.cli.render import print_report
from bontrack.cli.report_commands import report_app
from bontrack.errors import BontrackError
from bontrack.errors_render import EXIT_ERROR, cli_line
from bontrack.services import check_document

app = typer.Typer(
    name="bontrack",
    help="Botulinum toxin therapy: cited reference data and plan safety checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(reference_app, name="reference")
app.add_typer(store_commands.users_app, name="users")
app.add_typer(store_commands.db_app, name="db")
app.add_typer(audit_commands.audit_app, name="audit")
app.add_typer(report_app, name="report")
app.add_typer(fhir_commands.fhir_app, name="fhir")
app.add_typer(fhir_commands.export_app, name="export")
app.add_typer(patterns_app, name="patterns")
app.command()(store_commands.init)
app.command()(store_commands.serve)
app.command()(store_commands.demo)
app.command()(store_commands.backup)
app.command()(store_commands.restore)
app.command("backup-key")(store_commands.backup_key)
app.command(name="triage")(triage_command.triage)
app.command()(worker_command.worker)

EXIT_STOP = 1


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BontrackError(f"--at: must be a date as YYYY-MM-DD, got {value!r}") from None


@app.command()
def check(
    plan: Annotated[str, typer.Argument(help="Plan file (YAML or JSON), or - for stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="YYYY-MM-DD", help="Check for this day, not the plan's."),
    ] = None,
) -> None:
    """Check a treatment plan against the label rules.

    Exit status: 0 no stop finding; 1 at least one stop; 2 the plan could not be read.
    """
    data, where = read_document(plan)
    result, doc = check_document(data, where=where, on=_parse_day(at))
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        print_report(doc, Console())
    raise typer.Exit(EXIT_STOP if result.verdict == "stop" else 0)


def _print_version(value: bool) -> None:
    if value:
        version()
        raise typer.Exit(0)


@app.callback()
def main(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print the program and reference data versions and exit."),
    ] = False,
) -> None:
    """Botulinum toxin therapy: cited reference data and plan safety checks."""


@app.command()
def version() -> None:
    """Print the program and reference data versions."""
    from bontrack.reference import default_reference

    ref = default_reference()
    typer.echo(f"bontrack {__version__}; reference data {ref.version} ({ref.released})")


def _click_exceptions() -> tuple[type[BaseException], ...]:
    """The ClickException classes in use: Typer's own copy of click (Typer >= 0.29 vendors
    it, found through the public ``typer.BadParameter``) and click itself where installed
    (a dependency may raise it). Both render their own usage message."""
    found: list[type[BaseException]] = [
        c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"]
    try:
        import click
    except ImportError:  # pragma: no cover - click is optional once Typer vendors it
        pass
    else:
        found.append(click.ClickException)
    return tuple(dict.fromkeys(found))


def run() -> None:
    """Console entry point. Typer's standalone mode answers usage errors (the usage message
    and exit 2), ``-h``/``--help`` and ``typer.Exit``; bontrack's own errors are one line on
    standard error and exit 2; only an unexpected exception says "internal error"."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    # Every file bontrack writes (database, backups, exports, reports, the server's export
    # jobs) holds patients' data: only its owner may read it.
    os.umask(0o077)
    try:
        app(prog_name="bontrack")
    except BontrackError as exc:
        err.print(cli_line(exc), markup=False)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        err.print("bontrack: aborted", markup=False)
        sys.exit(130)
    except _click_exceptions() as exc:  # a click exception raised outside Typer's parser
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", EXIT_ERROR))
    except Exception as exc:  # the promise: no traceback ever reaches a person
        err.print(
            f"bontrack: internal error ({type(exc).__name__}: {exc}); please report it",
            markup=False,
        )
        sys.exit(EXIT_ERROR)
    sys.exit(0)
