"""Run the Alembic migrations programmatically (the schema comes from migrations only)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` to ``revision``."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def recreate(engine: Engine) -> None:
    """Empty the database and build the schema again (``bontrack demo --reset``; the caller
    checks the database holds only demo data). A SQLite file is deleted and made anew; a
    PostgreSQL database drops its tables through the migrations' own downgrades."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        engine.dispose()
        if database and database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(database + suffix).unlink(missing_ok=True)
        upgrade(engine)
        return
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    upgrade(engine)
