"""Backup and restore: SQLite's online backup API (safe while the server writes), pg_dump and
pg_restore for PostgreSQL. Restore only goes into an empty database: it never overwrites
clinical records."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from bontrack.errors import BontrackError
from bontrack.store.db import make_engine


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


def backup(url: str, target: Path) -> None:
    target = Path(target)
    if target.exists():
        raise BontrackError(f"{target}: already exists; choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
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
        target.unlink(missing_ok=True)
        raise BontrackError(f"pg_dump failed: {done.stderr.strip().splitlines()[-1:]}")


def _is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    return not (names - {"alembic_version"})


def restore(source: Path, url: str) -> None:
    source = Path(source)
    if not source.is_file():
        raise BontrackError(f"{source}: no such backup file")
    if url.startswith("sqlite"):
        target = _sqlite_path(url)
        if target.exists() and not _is_empty(url):
            raise BontrackError(f"{target}: the database already holds records; restore into "
                                "a new file")
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source, target)
        return
    if not _is_empty(url):
        raise BontrackError("the target database already holds tables; restore into an "
                            "empty database")
    done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", _libpq(url),
                           str(source)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BontrackError(f"pg_restore failed: {done.stderr.strip().splitlines()[-1:]}")
