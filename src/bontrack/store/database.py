"""Opening a database for a command: an existing one, or one the command may create.

Commands that read or change records (``users``, ``report``, ``audit``, ``fhir``, ``export``,
``backup``) need a database that exists and holds bontrack's schema: they refuse any other
with one line that says how to make one, and never create an empty file as a side effect.
Only the commands that make a database (``init``, ``db upgrade``, ``serve``, ``demo``,
``restore``) create it. Whatever cannot be reached (a PostgreSQL server that is down, a
database that does not exist, a file that is not a SQLite database) is one line too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from bontrack.config import default_database_path
from bontrack.errors import DatabaseUnavailable
from bontrack.store.db import make_engine
from bontrack.store.files import private_file
from bontrack.store.migrate import upgrade

CREATE_HINT = "create one with `bontrack init --db {db}` (or `bontrack demo` for a demo)"


def safe(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable database URL)"


def _db_arg(url: str) -> str:
    path = sqlite_path(url)
    return str(path) if path is not None else safe(url)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _engine(url: str) -> Engine:
    try:
        return make_engine(url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseUnavailable(f"--db: not a database URL or file path: {safe(url)} "
                                  f"({exc})") from None


def _unreachable(url: str, exc: DBAPIError) -> DatabaseUnavailable:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    hint = ""
    if "does not exist" in reason and url.startswith("postgresql"):
        name = make_url(url).database
        hint = f"; create it with `createdb {name}`, then `bontrack init --db URL`"
    elif "file is not a database" in reason:
        hint = "; is --db the right file?"
    return DatabaseUnavailable(f"cannot open the database {safe(url)}: {reason}{hint}")


def _has_schema(engine: Engine, url: str) -> bool:
    try:
        with engine.connect() as conn:
            return "alembic_version" in inspect(conn).get_table_names()
    except DBAPIError as exc:
        raise _unreachable(url, exc) from None


def require_existing(url: str) -> None:
    """Refuse a database that does not exist or holds no bontrack schema; create nothing."""
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            raise DatabaseUnavailable(
                f"no database at {path}; " + CREATE_HINT.format(db=path))
        # read-only: a check must not turn a stray file into a database
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                names = {r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise DatabaseUnavailable(f"cannot open the database {path}: {exc}") from None
        if "alembic_version" not in names:
            raise DatabaseUnavailable(
                f"{path} is not a bontrack database (it holds no bontrack schema); "
                + CREATE_HINT.format(db="NEW_FILE"))
        return
    engine = _engine(url)
    try:
        if not _has_schema(engine, url):
            raise DatabaseUnavailable(
                f"the database {safe(url)} holds no bontrack schema; "
                + CREATE_HINT.format(db=_db_arg(url)))
    finally:
        engine.dispose()


def require_reachable(url: str) -> None:
    """For a server database (PostgreSQL): refuse one that cannot be reached or does not
    exist. A SQLite file needs no check."""
    if url.startswith("sqlite"):
        return
    engine = _engine(url)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        raise _unreachable(url, exc) from None
    finally:
        engine.dispose()


def open_existing(url: str) -> Engine:
    """An engine for an existing bontrack database, migrated to the latest schema."""
    require_existing(url)
    engine = _engine(url)
    _upgrade(engine, url)
    return engine


def open_creating(url: str) -> Engine:
    """An engine for the database, created (file and schema) when missing and migrated to
    the latest schema. The default location's folder is made; another folder must exist."""
    path = sqlite_path(url)
    if path is not None and not path.parent.is_dir():
        if path == default_database_path():
            path.parent.mkdir(parents=True, exist_ok=True)
        else:
            raise DatabaseUnavailable(f"cannot create the database {path}: the folder "
                                      f"{path.parent} does not exist")
    if path is not None and not path.exists():
        _create_private(path)
    engine = _engine(url)
    _upgrade(engine, url)
    return engine


def _create_private(path: Path) -> None:
    """A new SQLite file readable by its owner only (0600): it holds patients' records.
    SQLite gives its -wal and -shm files the same mode."""
    try:
        private_file(path).close()
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the database {path}: {exc.strerror}") from None


def _upgrade(engine: Engine, url: str) -> None:
    try:
        upgrade(engine)
    except DBAPIError as exc:
        engine.dispose()
        raise _unreachable(url, exc) from None
