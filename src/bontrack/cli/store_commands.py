"""Commands of the record store: serve, users, demo, backup, restore, db upgrade."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from bontrack.config import ENV_MFA_REQUIRED, database_url, mfa_required

DbOpt = Annotated[
    str | None,
    typer.Option("--db", metavar="PATH|URL",
                 help="SQLite file path or database URL (default: DATABASE_URL, else "
                 "SQLite in the user data directory)."),
]

users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def open_store(db: str | None, create: bool = False):  # type: ignore[no-untyped-def]
    """The database (``store.uow.Database``: the command's units of work), migrated to the
    latest schema. Without ``create`` it must exist already (nothing is created on the
    way)."""
    from bontrack.store.database import open_creating, open_existing
    from bontrack.store.uow import Database

    url = database_url(db)
    return url, Database(open_creating(url) if create else open_existing(url))


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Create or migrate the schema to the latest version (Alembic)."""
    url, database = open_store(db, create=True)
    database.dispose()
    typer.echo(f"schema up to date: {_safe(url)}")


@db_app.command("app-role")
def db_app_role(
    role: Annotated[str, typer.Argument(help="The existing PostgreSQL role the server runs as.")],
    db: DbOpt = None,
) -> None:
    """PostgreSQL: give the server's role row rights only (run as the schema's owner after
    `bontrack db upgrade`). The server then cannot alter tables or the audit triggers; run
    it with `bontrack serve --no-migrate` and that role in DATABASE_URL."""
    from bontrack.store.roles import grant_app_role

    _, database = open_store(db)
    try:
        statements = grant_app_role(database.engine, role)
    finally:
        database.dispose()
    for statement in statements:
        typer.echo(statement)
    typer.echo(f"{role} may read and write rows, and cannot change the schema or triggers")


def init(db: DbOpt = None) -> None:
    """Create a new, empty bontrack database (or bring an existing one's schema up to date)."""
    from bontrack.store.database import sqlite_path

    url = database_url(db)
    path = sqlite_path(url)
    existed = path.is_file() if path is not None else None
    url, database = open_store(db, create=True)
    database.dispose()
    if existed:
        typer.echo(f"database exists, schema up to date: {_safe(url)}")
    else:
        typer.echo(f"database ready: {_safe(url)}")
    typer.echo("next: `bontrack users add NAME --role admin` (with the same --db)")


def _safe(url: str) -> str:
    from bontrack.store.database import safe

    return safe(url)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, clinician, nurse or patient")],
    clinic: Annotated[str, typer.Option(help="Clinic name (created if new).")] = "Demo clinic",
    display_name: Annotated[str | None, typer.Option()] = None,
    patient_id: Annotated[int | None, typer.Option(help="For patient accounts.")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)] = "",
    db: DbOpt = None,
) -> None:
    """Add a user account (the user must change the password at the first sign-in)."""
    from bontrack.services import accounts

    _, database = open_store(db)
    try:
        with database.unit_of_work() as uow:
            u = accounts.add_user_to_clinic(uow, clinic, username=username, password=password,
                                            role=role, display_name=display_name,
                                            patient_id=patient_id, must_change_password=True)
    finally:
        database.dispose()
    typer.echo(f"added {u['role']} {u['username']!r} (id {u['id']}) to {clinic!r}; the "
               "password must be changed at the first sign-in")


@users_app.command("set-password")
def users_set_password(
    username: str,
    db: DbOpt = None,
) -> None:
    """Set a user's password (asked for twice at a terminal, else one line of standard
    input); the user must change it at the next sign-in. Ends the user's sessions."""
    from bontrack.errors import NotFound
    from bontrack.services import accounts

    _, database = open_store(db)
    try:
        with database.unit_of_work() as uow:  # before asking for a password
            if not accounts.user_exists(uow, username):
                raise NotFound(f"no user {username!r}")
        password = _read_password()
        with database.unit_of_work() as uow:
            accounts.set_password(uow, username, password,
                                  by="an administrator (command line)")
    finally:
        database.dispose()
    typer.echo(f"password of {username!r} set; it must be changed at the next sign-in")


def _read_password() -> str:
    """At a terminal: asked for twice, hidden. Otherwise: the first line of standard input
    (its line ending removed, nothing else: spaces are part of a password)."""
    import sys

    from bontrack.errors import BontrackError

    if sys.stdin.isatty():
        return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise BontrackError("password: standard input held no password (give it as one "
                            "line, or run the command at a terminal to be asked for it)")
    return password


@users_app.command("reset-mfa")
def users_reset_mfa(username: str, db: DbOpt = None) -> None:
    """Remove a user's second factor (a lost phone): the user sets up two-step sign-in
    again at the next web sign-in (admins and clinicians must). Ends the user's sessions."""
    from bontrack.services import accounts

    _, database = open_store(db)
    try:
        with database.unit_of_work() as uow:
            accounts.reset_mfa(uow, username, by="an administrator (command line)")
    finally:
        database.dispose()
    typer.echo(f"second factor of {username!r} removed; it is set up again at the next "
               "web sign-in")


@users_app.command("list")
def users_list(db: DbOpt = None) -> None:
    """List user accounts."""
    from bontrack.services import accounts

    _, database = open_store(db)
    table = Table("id", "username", "role", "clinic", "patient", "disabled")
    try:
        with database.unit_of_work() as uow:
            users = accounts.list_users(uow)
    finally:
        database.dispose()
    for u in users:
        table.add_row(str(u["id"]), u["username"], u["role"], str(u["clinic_id"]),
                      str(u["patient_id"] or ""), "yes" if u["disabled"] else "")
    Console().print(table)


@users_app.command("disable")
def users_disable(username: str, db: DbOpt = None) -> None:
    """Disable an account and revoke its tokens (accounts are never deleted)."""
    from bontrack.services import accounts

    _, database = open_store(db)
    try:
        with database.unit_of_work() as uow:
            accounts.disable_user(uow, username)
    finally:
        database.dispose()
    typer.echo(f"disabled {username!r}")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Worker processes (each with its own database pool).")] = 1,
    access_log: Annotated[bool, typer.Option(
        "--access-log/--no-access-log", help="Log one line per request to stdout.")] = False,
    migrate: Annotated[bool, typer.Option(
        "--migrate/--no-migrate", help="Bring the schema to the newest migration first "
        "(--no-migrate when the server's database account may not change the schema; "
        "/ready then says if a migration is due).")] = True,
    db: DbOpt = None,
) -> None:
    """Run the web server (REST API under /api/v1, OpenAPI at /openapi.json, docs at /docs).

    Liveness at /health, readiness (database reachable, writable, migrated) at /ready.
    """
    from bontrack.cli.ports import require_free_port

    require_free_port(host, port)
    url = database_url(db)
    if migrate:
        _, database = open_store(db, create=True)
        database.dispose()
    typer.echo(f"bontrack on http://{host}:{port}  (database {_safe(url)}, "
               f"{workers} worker{'s' if workers != 1 else ''})")
    run_server(url, host=host, port=port, workers=workers, access_log=access_log)


def run_server(url: str, *, host: str, port: int, workers: int = 1,
               access_log: bool = False) -> None:
    """uvicorn with the compiled HTTP parser, the app built by its factory in each worker
    (the database URL travels in DATABASE_URL, as for a bare ``uvicorn --factory``).
    uvicorn's own X-Forwarded-For handling is off: bontrack reads that header only from
    the proxies named in BONTRACK_TRUSTED_PROXIES (``server.deps.client_address``)."""
    import os

    import uvicorn

    from bontrack.config import ENV_DB

    os.environ[ENV_DB] = url
    uvicorn.run("bontrack.app:create_app", factory=True, host=host, port=port,
                workers=workers, http="httptools", access_log=access_log,
                proxy_headers=False,
                log_level="info" if access_log else "warning", server_header=False)


def demo(
    patients: Annotated[int, typer.Option(min=0, help="Number of synthetic patients.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve",
                                              help="Start the server afterwards.")] = True,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int | None, typer.Option(
        help="Processes drawing and checking patients while this one writes (default: none "
             "below 2,000 patients, else one less than the CPUs, at most 4).")] = None,
    reset: Annotated[bool, typer.Option(
        "--reset", help="Recreate the demo in a database that already holds it (refused "
        "when the database holds any other clinic).")] = False,
    db: DbOpt = None,
) -> None:
    """Create a demo clinic, users and synthetic patients, then start the server.

    On a database that already holds the demo, serve it as it is (no second seeding)
    unless --reset. The port is checked before anything is written."""
    from bontrack.cli.ports import require_free_port
    from bontrack.demo import generator as demo_data
    from bontrack.errors import BontrackError

    if serve_after:
        require_free_port(host, port)
    url, database = open_store(db, create=True)
    held = demo_data.existing_patients(database)
    if held is not None and reset:
        others = demo_data.other_clinics(database)
        if others:
            database.dispose()
            raise BontrackError(f"--reset: the database {_safe(url)} also holds the clinic(s) "
                                f"{', '.join(repr(c) for c in others[:5])}; it is not wiped "
                                "(use a new --db for the demo)")
        from bontrack.store.migrate import recreate

        recreate(database.engine)
        typer.echo(f"demo database recreated: {_safe(url)}")
        held = None
    if held is None:
        _seed(database, patients=patients, seed=seed, workers=workers)
    else:
        typer.echo(f"the database {_safe(url)} already holds the demo clinic ({held} "
                   "patients): using it as it is (`--reset` recreates it). Its passwords were "
                   "printed when it was made; `bontrack users set-password USER` sets a new "
                   "one.")
    database.dispose()
    if serve_after:
        # synthetic data, on this machine: two-step sign-in stays optional in the demo
        # (docs/security.md, "Two-step sign-in"); `bontrack serve` requires it
        os.environ.setdefault(ENV_MFA_REQUIRED, "off")
        typer.echo(f"bontrack on http://{host}:{port}  (API docs at /docs; two-step "
                   f"sign-in {'required' if mfa_required() else 'optional'})")
        run_server(url, host=host, port=port)


def _seed(database: Any, *, patients: int, seed: int, workers: int | None) -> None:
    """Seed the demo with progress bars and print its accounts' passwords (the only time
    they are shown: only their hashes are stored)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from bontrack.demo.generator import generate

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("synthetic patients", total=patients)
        summary = generate(database, patients=patients, seed=seed, workers=workers,
                           on_batch=lambda n: progress.advance(task, n))
        _build_analytics(database, summary.clinic, progress)
    typer.echo(f"demo clinic {summary.clinic!r}: {summary.patients} patients, "
               f"{summary.cycles} cycles, {summary.injections} injections, "
               f"{summary.outcomes} outcomes, {summary.side_effects} side effects")
    typer.echo("demo accounts (username / password; shown this once, only hashes are kept):")
    for username, role, password in summary.accounts:
        typer.echo(f"  {username:<12} {role:<10} {password}")


KeyFileOpt = Annotated[Path | None, typer.Option(
    "--key-file", metavar="FILE", help="Seal (or open) the backup with this key file "
    "(made by `bontrack backup-key`).")]
PassphraseFileOpt = Annotated[Path | None, typer.Option(
    "--passphrase-file", metavar="FILE", help="Seal (or open) the backup with the "
    "passphrase on the first line of FILE (at a terminal, --encrypt alone asks for one).")]


def backup(
    path: Annotated[Path, typer.Argument(help="Backup file to write.")],
    encrypt: Annotated[bool, typer.Option(
        "--encrypt", help="Seal the backup (AES-256-GCM) with --key-file or a passphrase.")]
    = False,
    key_file: KeyFileOpt = None,
    passphrase_file: PassphraseFileOpt = None,
    db: DbOpt = None,
) -> None:
    """Back up the database (SQLite online backup; pg_dump for PostgreSQL), as a file only
    its owner can read (0600); sealed with --encrypt."""
    from bontrack.store.backup import backup as do_backup
    from bontrack.store.database import require_existing

    key, passphrase = _sealing(encrypt or key_file is not None or passphrase_file is not None,
                               key_file, passphrase_file, confirm=True)
    url = database_url(db)
    require_existing(url)
    do_backup(url, path, key=key, passphrase=passphrase)
    typer.echo(f"backup written to {path}" + (" (sealed)" if key or passphrase else ""))


def restore(
    path: Annotated[Path, typer.Argument(help="Backup file made by `bontrack backup`.")],
    key_file: KeyFileOpt = None,
    passphrase_file: PassphraseFileOpt = None,
    db: DbOpt = None,
) -> None:
    """Restore a backup into an empty database (refuses to overwrite records). A sealed
    backup needs its key file or passphrase."""
    from bontrack.store.backup import restore as do_restore
    from bontrack.store.database import require_reachable
    from bontrack.store.sealed import is_sealed

    url = database_url(db)
    require_reachable(url)
    if not path.is_file():
        raise_error(f"{path}: no such backup file")
    key, passphrase = _sealing(is_sealed(path), key_file, passphrase_file, confirm=False)
    do_restore(path, url, key=key, passphrase=passphrase)
    typer.echo(f"restored {path}")


def backup_key(path: Annotated[Path, typer.Argument(help="Key file to create.")]) -> None:
    """Create a random 256-bit key file for sealed backups (0600). Keep it away from the
    backups: whoever holds both can read them; without it they cannot be restored."""
    from bontrack.store.sealed import new_key_file

    if path.exists():
        raise_error(f"{path}: already exists; a key is never overwritten")
    new_key_file(path)
    typer.echo(f"key written to {path} (0600)")


def raise_error(message: str) -> NoReturn:
    from bontrack.errors import BontrackError

    raise BontrackError(message)


def _sealing(wanted: bool, key_file: Path | None, passphrase_file: Path | None,
             confirm: bool) -> tuple[bytes | None, str | None]:
    """The key or passphrase to seal or open a backup with (none when not wanted)."""
    import sys

    from bontrack.store.sealed import read_key_file

    if not wanted:
        return None, None
    if key_file is not None and passphrase_file is not None:
        raise_error("--key-file and --passphrase-file: give one, not both")
    if key_file is not None:
        return read_key_file(key_file), None
    if passphrase_file is not None:
        try:
            line = passphrase_file.read_text(encoding="utf-8").splitlines()[:1]
        except (OSError, UnicodeDecodeError) as err:
            raise_error(f"--passphrase-file: {passphrase_file}: {err}")
        if not line or not line[0]:
            raise_error(f"--passphrase-file: {passphrase_file} holds no passphrase")
        return None, line[0]
    if sys.stdin.isatty():
        return None, str(typer.prompt("Backup passphrase", hide_input=True,
                                      confirmation_prompt=confirm))
    raise_error("a sealed backup needs --key-file or --passphrase-file")


def _build_analytics(database: Any, clinic: str, progress: Any) -> None:
    """Build the clinic's derived analytics rows now, in committed steps with a progress
    bar, so the first dashboard view after a large demo does not have to."""
    from bontrack import analytics

    with database.unit_of_work() as uow:
        clinic_id, total, done = analytics.build_state(uow, clinic)
    if clinic_id is None:
        return
    task = progress.add_task("analytics figures", total=total, completed=done)
    while True:
        with database.unit_of_work() as uow:
            rebuilt = analytics.refresh(uow, clinic_id, limit=2000)
        if not rebuilt:
            break
        progress.advance(task, rebuilt)
