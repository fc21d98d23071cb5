"""Backup and restore: SQLite's online backup API (safe while the server writes), pg_dump and
pg_restore for PostgreSQL. Restore only goes into an empty database: it never overwrites
clinical records. Backups are created 0600; with a key or passphrase they are sealed
(``store.sealed``: AES-256-GCM), and restore opens a sealed backup with the same. The
plain copy in between lives in a private (0700) temporary folder beside the target and is
removed whatever happens."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from bontrack.errors import BontrackError
from bontrack.store import sealed
from bontrack.store.db import make_engine
from bontrack.store.files import private_file


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BontrackError("backup needs a SQLite database file, not an in-memory database")
    return Path(database)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database page by page with the online backup API (consistent even
    while another process writes)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def backup(url: str, target: Path, *, key: bytes | None = None,
           passphrase: str | None = None) -> None:
    """Back up the database at ``url`` into the new file ``target`` (sealed when a key or
    passphrase is given)."""
    target = Path(target)
    if target.exists():
        raise BontrackError(f"{target}: already exists; choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    if key is None and passphrase is None:
        _plain_backup(url, target)
        return
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".bontrack-backup-") as tmp:
        plain = Path(tmp) / "plain"
        _plain_backup(url, plain)
        sealed.seal(plain, target, key=key, passphrase=passphrase)


def _plain_backup(url: str, target: Path) -> None:
    private_file(target).close()  # 0600 before a byte is written
    try:
        _copy_out(url, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _copy_out(url: str, target: Path) -> None:
    if url.startswith("sqlite"):
        source = _sqlite_path(url)
        if not source.exists():
            raise BontrackError(f"{source}: no such database")
        _sqlite_copy(source, target)
        return
    if shutil.which("pg_dump") is None:
        raise BontrackError("pg_dump is not installed (Debian package postgresql-client)")
    done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}",
                           _libpq(url)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BontrackError(f"pg_dump failed: {done.stderr.strip().splitlines()[-1:]}")


def _is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    return not (names - {"alembic_version"})


def restore(source: Path, url: str, *, key: bytes | None = None,
            passphrase: str | None = None) -> None:
    """Restore a backup (plain or sealed) into an empty database."""
    source = Path(source)
    if not source.is_file():
        raise BontrackError(f"{source}: no such backup file")
    if not sealed.is_sealed(source):
        _restore_plain(source, url)
        return
    with tempfile.TemporaryDirectory(prefix=".bontrack-restore-") as tmp:
        plain = Path(tmp) / "plain"
        sealed.unseal(source, plain, key=key, passphrase=passphrase)
        _restore_plain(plain, url)


def _restore_plain(source: Path, url: str) -> None:
    if url.startswith("sqlite"):
        target = _sqlite_path(url)
        if target.exists() and not _is_empty(url):
            raise BontrackError(f"{target}: the database already holds records; restore into "
                                "a new file")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            private_file(target).close()
        _sqlite_copy(source, target)
        return
    if not _is_empty(url):
        raise BontrackError("the target database already holds tables; restore into an "
                            "empty database")
    done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", _libpq(url),
                           str(source)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BontrackError(f"pg_restore failed: {done.stderr.strip().splitlines()[-1:]}")
