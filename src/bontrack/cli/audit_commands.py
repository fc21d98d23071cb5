"""`bontrack audit verify | show | checkpoint | keygen`: the audit trail's hash chain,
anchored by signed checkpoints kept outside the database, and one patient's events for a
privacy officer. Without a checkpoint file, `verify` checks the chain alone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bontrack.cli.store_commands import DbOpt, open_store
from bontrack.config import audit_checkpoint_path, audit_key_path
from bontrack.errors import BontrackError

# Each command imports what only it needs: `bontrack --help` loads no database or crypto.

audit_app = typer.Typer(help="The audit trail: verify its hash chain (and its signed "
                        "checkpoints), show a patient's events.", no_args_is_help=True)

CheckpointsOpt = Annotated[
    Path | None,
    typer.Option("--checkpoints", metavar="FILE",
                 help="Append-only file of signed checkpoints (default: "
                 "BONTRACK_AUDIT_CHECKPOINTS)."),
]
KeyOpt = Annotated[
    Path | None,
    typer.Option("--key", metavar="FILE",
                 help="Ed25519 key file (default: BONTRACK_AUDIT_KEY, else audit-signing.key "
                 "in the user configuration directory); verify also takes the .pub file."),
]


def _checkpoints(explicit: Path | None, needed: bool) -> Path | None:
    path = explicit or audit_checkpoint_path()
    if path is None and needed:
        raise BontrackError("no checkpoint file: name one with --checkpoints or "
                            "BONTRACK_AUDIT_CHECKPOINTS (docs/security.md)")
    return path


@audit_app.command("keygen")
def keygen(key: KeyOpt = None) -> None:
    """Create the Ed25519 key that signs audit checkpoints (0600; never overwritten)."""
    from bontrack.store import audit_anchor

    path = key or audit_key_path()
    public = audit_anchor.generate_key(path)
    typer.echo(f"audit signing key written to {path} (0600), public key {path}.pub, "
               f"key id {audit_anchor.key_id(public)}")


@audit_app.command("checkpoint")
def checkpoint(db: DbOpt = None, checkpoints: CheckpointsOpt = None,
               key: KeyOpt = None) -> None:
    """Check the chain and append a signed checkpoint of its head (sequence, hash, count,
    time) to the checkpoint file; the key is created on the first checkpoint."""
    from bontrack.services import audit

    target = _checkpoints(checkpoints, needed=True)
    assert target is not None
    _, database = open_store(db)
    try:
        with database.unit_of_work() as uow:  # every committed event gets its place first
            audit.chain_trail(uow)
        with database.reading() as uow:
            cp = audit.checkpoint_trail(uow, target, key or audit_key_path())
    finally:
        database.dispose()
    typer.echo(f"checkpoint appended to {target}: event {cp.sequence}, {cp.count} events, "
               f"hash {cp.hash[:16]}…, {cp.at}, key {cp.key}")


@audit_app.command("verify")
def verify(db: DbOpt = None, checkpoints: CheckpointsOpt = None, key: KeyOpt = None) -> None:
    """Check the audit trail's hash chain and, when a checkpoint file is named, every signed
    checkpoint in it; exit 1 at the first problem."""
    from bontrack.services import audit

    target = _checkpoints(checkpoints, needed=False)
    _, database = open_store(db)
    try:
        with database.unit_of_work() as uow:  # every committed event gets its place first
            audit.chain_trail(uow)
        with database.reading() as uow:
            if target is None:
                chain, anchored = audit.verify_trail(uow), None
            else:
                anchored = audit.verify_anchored_trail(uow, target, key or audit_key_path())
                chain = anchored.chain
    finally:
        database.dispose()
    if not chain.intact:
        typer.echo(f"audit trail BROKEN at event {chain.broken_at}: {chain.reason}", err=True)
        raise typer.Exit(1)
    if anchored is not None and anchored.problem:
        typer.echo(f"audit trail BROKEN: {anchored.problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit trail intact: {chain.events} events")
    if anchored is not None and anchored.newest is not None:
        typer.echo(f"anchored: {anchored.checkpoints} signed checkpoint(s) match; the newest "
                   f"({anchored.newest.at}) covers {anchored.newest.count} events, "
                   f"{anchored.since} since")


@audit_app.command("show")
def audit_show(
    patient: Annotated[int, typer.Option("--patient", help="Patient id.")],
    db: DbOpt = None,
) -> None:
    """Every recorded read and change of one patient's data (for a privacy officer)."""
    from bontrack.services import audit

    _, database = open_store(db)
    table = Table("id", "when (UTC)", "who", "role", "action", "what", "outcome", "detail")
    try:
        with database.reading() as uow:
            rows = audit.patient_events(uow, patient)
    finally:
        database.dispose()
    for r in rows:
        what = r.entity + (f" {r.entity_id}" if r.entity_id else "")
        table.add_row(str(r.id), f"{r.at:%Y-%m-%d %H:%M:%S}", r.username or "(system)",
                      r.role or "", r.action, what, r.outcome, (r.detail or "")[:60])
    Console().print(table)
    typer.echo(f"{len(rows)} events for patient {patient}")
