"""Settings as data: where the database lives, how the server listens."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

ENV_DB = "DATABASE_URL"
ENV_EXPORTS = "BONTRACK_EXPORT_DIR"


def default_database_path() -> Path:
    """SQLite in the user's data directory. Nothing is created here: only the commands that
    create a database (``store.database.open_creating``) make the folder and the file."""
    return Path(user_data_dir("bontrack", appauthor=False)) / "bontrack.db"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


def export_directory() -> Path:
    """Where Bulk Data $export files are written: BONTRACK_EXPORT_DIR, else the user data
    directory."""
    raw = os.environ.get(ENV_EXPORTS)
    return Path(raw) if raw else Path(user_data_dir("bontrack", appauthor=False)) / "exports"


#: ``dialect[+driver]://`` starts a SQLAlchemy URL; anything else is a file path.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def database_url(explicit: str | None = None) -> str:
    """--db, else DATABASE_URL, else the SQLite default, as a SQLAlchemy URL.

    Each may be a SQLAlchemy URL or a plain file path (relative to the working directory,
    ``~`` expanded), which means a SQLite file. ``postgresql://`` means psycopg 3."""
    raw = (explicit or os.environ.get(ENV_DB) or "").strip()
    if not raw:
        return default_database_url()
    if not _URL.match(raw):
        return f"sqlite:///{Path(raw).expanduser().absolute()}"
    url = raw
    if url.startswith("sqlite:///") and url[len("sqlite:///"):].startswith("~"):
        url = f"sqlite:///{Path(url[len('sqlite:///'):]).expanduser()}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    token_hours: int = 12  # absolute session lifetime
    idle_minutes: int = 30  # a session unused this long ends
    max_failed_logins: int = 5
    lockout_minutes: int = 15
