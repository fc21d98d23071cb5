"""`bontrack audit keygen | checkpoint | verify` (the trail anchored by signed checkpoints
outside the database) and `bontrack backup-encrypted | restore-encrypted`.

``install`` adds the audit commands to the `audit` group of store_commands and puts this
module's ``verify`` in place of the chain-only one there: without a checkpoint file it checks
the chain exactly as before; with one it also checks every checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bontrack.cli.store_commands import DbOpt, open_store
from bontrack.config import audit_checkpoint_path, audit_key_path
from bontrack.errors import BontrackError

# Each command imports what only it needs: `bontrack --help` loads no database or crypto.

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


def keygen(key: KeyOpt = None) -> None:
    """Create the Ed25519 key that signs audit checkpoints (0600; never overwritten)."""
    from bontrack.store import audit_anchor

    path = key or audit_key_path()
    public = audit_anchor.generate_key(path)
    typer.echo(f"audit signing key written to {path} (0600), public key {path}.pub, "
               f"key id {audit_anchor.key_id(public)}")


def checkpoint(db: DbOpt = None, checkpoints: CheckpointsOpt = None,
               key: KeyOpt = None) -> None:
    """Check the chain and append a signed checkpoint of its head (sequence, hash, count,
    time) to the checkpoint file; the key is created on the first checkpoint."""
    from sqlalchemy import select

    from bontrack.store import audit_anchor
    from bontrack.store.models import AuditEvent

    target = _checkpoints(checkpoints, needed=True)
    assert target is not None
    _, engine, _ = open_store(db)
    t = AuditEvent.__table__
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).yield_per(10_000)
            cp = audit_anchor.checkpoint(rows, target, key or audit_key_path())
    finally:
        engine.dispose()
    typer.echo(f"checkpoint appended to {target}: event {cp.sequence}, {cp.count} events, "
               f"hash {cp.hash[:16]}…, {cp.at}, key {cp.key}")


def verify(db: DbOpt = None, checkpoints: CheckpointsOpt = None, key: KeyOpt = None) -> None:
    """Check the audit trail's hash chain and, when a checkpoint file is named, every signed
    checkpoint in it; exit 1 at the first problem."""
    from sqlalchemy import select

    from bontrack.store import audit_anchor
    from bontrack.store.audit_chain import verify as verify_chain
    from bontrack.store.models import AuditEvent

    target = _checkpoints(checkpoints, needed=False)
    _, engine, _ = open_store(db)
    t = AuditEvent.__table__
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).yield_per(10_000)
            if target is None:
                chain = verify_chain(rows)
                anchored = None
            else:
                anchored = audit_anchor.verify_anchored(rows, target, key or audit_key_path())
                chain = anchored.chain
    finally:
        engine.dispose()
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


def install(audit_app: typer.Typer) -> None:
    """Add keygen and checkpoint to the `audit` group and replace its verify with this one
    (the same output and exit codes when no checkpoint file is named)."""
    audit_app.registered_commands = [c for c in audit_app.registered_commands
                                     if c.name != "verify"]
    audit_app.command("verify")(verify)
    audit_app.command("checkpoint")(checkpoint)
    audit_app.command("keygen")(keygen)
