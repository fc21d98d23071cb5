"""Settings as data: where the database lives, how the server listens."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

ENV_DB = "DATABASE_URL"
ENV_EXPORTS = "BONTRACK_EXPORT_DIR"


def default_database_url() -> str:
    """SQLite in the user's data directory (created on first use)."""
    folder = Path(user_data_dir("bontrack", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'bontrack.db'}"


def export_directory() -> Path:
    """Where Bulk Data $export files are written: BONTRACK_EXPORT_DIR, else the user data
    directory."""
    raw = os.environ.get(ENV_EXPORTS)
    return Path(raw) if raw else Path(user_data_dir("bontrack", appauthor=False)) / "exports"


def database_url(explicit: str | None = None) -> str:
    """--db, else DATABASE_URL, else the SQLite default. postgresql:// means psycopg 3."""
    url = explicit or os.environ.get(ENV_DB) or default_database_url()
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
