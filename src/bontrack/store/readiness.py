"""Is the database ready to serve? Reachable, writable, and migrated to the newest revision.

Used by ``GET /ready`` (load balancers and orchestrators route traffic only to a ready
instance). Each check says, in one sentence, what is wrong, so an operator can act on it.
The write check writes nothing that survives: it updates the Alembic version row to itself
inside a transaction that is always rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from bontrack.store.db import SQLITE_BUSY_MS
from bontrack.store.migrate import alembic_config

#: How long a readiness probe waits for a lock another transaction holds (milliseconds);
#: a probe must answer in a few seconds, not queue behind a long export.
PROBE_WAIT_MS = 2_000


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str
    revision: str | None = None
    head: str | None = None


@cache
def head_revision() -> str:
    """The newest migration shipped with this version of bontrack."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    return ",".join(sorted(heads))


def check(engine: Engine) -> Readiness:
    """Connect, compare the schema revision with the newest migration, try a write."""
    head = head_revision()
    phase = "connecting"
    try:
        with engine.connect() as conn:
            sqlite = engine.dialect.name == "sqlite"
            if sqlite:  # straight to the driver: no SQLAlchemy autobegin around a pragma
                conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                    f"PRAGMA busy_timeout={PROBE_WAIT_MS}")
            try:
                phase = "starting a transaction"
                with conn.begin() as tx:  # SQLite: BEGIN IMMEDIATE, the write lock
                    if not sqlite:
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {PROBE_WAIT_MS}")
                        conn.exec_driver_sql(
                            f"SET LOCAL statement_timeout = {PROBE_WAIT_MS * 2}")
                    phase = "reading the schema revision"
                    current = MigrationContext.configure(conn).get_current_heads()
                    revision = ",".join(sorted(current)) or None
                    if revision is None:
                        tx.rollback()
                        return Readiness(False, "database has no schema: run "
                                         "`bontrack db upgrade`", head=head)
                    if revision != head:
                        tx.rollback()
                        return Readiness(False, f"database schema is at revision "
                                         f"{revision}, this version needs {head}: run "
                                         "`bontrack db upgrade`", revision=revision,
                                         head=head)
                    phase = "writing"
                    conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
                    tx.rollback()  # the probe leaves nothing behind
                return Readiness(True, "ready", revision=revision, head=head)
            finally:
                if sqlite:
                    conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                        f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    except Exception as exc:
        message = _short(exc)
        lowered = message.lower()
        if "readonly" in lowered or "read-only" in lowered or phase == "writing":
            return Readiness(False, f"database is not writable: {message}", head=head)
        if phase == "connecting":
            return Readiness(False, f"database unreachable: {message}", head=head)
        return Readiness(False, f"database check failed while {phase}: {message}",
                         head=head)


def _short(exc: BaseException) -> str:
    """The driver's own first line (e.g. "attempt to write a readonly database"), without
    SQLAlchemy's SQL echo and background link."""
    orig = getattr(exc, "orig", None) or exc
    line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return line[:300]
