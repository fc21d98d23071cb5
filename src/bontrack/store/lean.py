"""A prebuilt SELECT (or INSERT) run straight on a DBAPI connection, for the hottest paths.

SQLAlchemy's Core execution costs about 60-90 µs a statement here (issue 16), a dozen
times what SQLite or psycopg take to run the indexed lookups of a timeline GET. A
``LeanSelect`` compiles its statement once per dialect and, per call, runs the SQL through
the driver on a connection the caller holds and converts the row with the
columns' own result processors (so a ``UtcDateTime`` or a SQLite boolean reads exactly as
through Core). One statement is one consistent read: SQLite and PostgreSQL (read committed)
both run it on one snapshot.
"""

from __future__ import annotations

import logging
import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from sqlalchemy import Engine, Select, Table, bindparam, insert

from bontrack.store.types import UtcDateTime

if TYPE_CHECKING:
    from bontrack.store.loop_pg import LoopConnections

R = TypeVar("R")
LOG = logging.getLogger(__name__)

class LeanSelect:
    """``LeanSelect(stmt, engine)``: ``stmt`` compiled once for the engine's dialect, run on
    a connection the caller holds: ``first_on(connection, name=value, ...)`` on SQLite (the
    thread's own, ``KeptReads``), ``await first_async(loop_connections, ...)`` on a server
    database. Either gives the first row as a named tuple (its columns' labels), or None.
    Parameters are plain ``str`` / ``int`` values, passed to the driver as they are."""

    def __init__(self, stmt: Select[Any], engine: Engine) -> None:
        dialect = engine.dialect
        compiled = stmt.compile(dialect=dialect)
        self.stmt = stmt
        self._sql = str(compiled)
        self._order: list[str] | None = (list(compiled.positiontup)
                                          if compiled.positional and compiled.positiontup
                                          else None)
        columns = list(stmt.selected_columns)
        self._row = namedtuple("LeanRow", [c.key for c in columns])  # type: ignore[misc]
        self._convert: list[tuple[int, Callable[[Any], Any]]] = []
        for n, column in enumerate(columns):
            processor = column.type._cached_result_processor(dialect, None)
            if processor is not None:
                self._convert.append((n, processor))

    def first_on(self, connection: Any, **params: str | int) -> Any:
        """The first row, on a DBAPI ``connection`` in autocommit (the statement is its own
        snapshot and leaves no transaction open)."""
        args: Any = [params[k] for k in self._order] if self._order is not None else params
        return self._convert_row(self._run(connection, args))

    async def first_async(self, loop_connections: LoopConnections, **params: str | int
                          ) -> Any:
        """The first row, through one of the event loop's own connections to a server
        database (``store.loop_pg``), without a thread."""
        async with loop_connections.connection() as conn:
            cursor = await conn.execute(self._sql, params)
            found = await cursor.fetchone()
        return self._convert_row(found)

    def _convert_row(self, found: Any) -> Any:
        if found is None:
            return None
        values = list(found)
        for n, processor in self._convert:
            values[n] = processor(values[n])
        return self._row(*values)

    def _run(self, connection: Any, args: Any) -> Any:
        cursor = connection.cursor()
        try:
            cursor.execute(self._sql, args)
            return cursor.fetchone()
        finally:
            cursor.close()  # the statement ends: no read transaction is left open


def own_connection(engine: Engine, own: threading.local, busy_timeout_ms: int | None = None
                   ) -> Any:
    """This thread's own SQLite connection of ``engine`` (opened once, with the engine's
    settings, then detached from its pool): a file handle, nothing held on a server, and no
    checkout per statement. In autocommit, so each statement is its own snapshot and
    nothing stays open between statements. It closes when the thread's data goes."""
    connection: Any = getattr(own, "connection", None)
    if connection is None:
        fairy = engine.raw_connection()
        fairy.detach()
        connection = own.connection = fairy.dbapi_connection
        if busy_timeout_ms is not None:
            connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return connection


#: How many looked-up rows ``KeptReads`` keeps per thread before it starts again.
KEPT_ROWS = 4096

T = TypeVar("T")


class KeptReads:
    """SQLite: each thread's one connection for the hottest lookups and for the batches of
    read events written on that thread, and what its lookups found, kept for as long as no
    other connection has committed anything.

    ``PRAGMA data_version`` on a connection changes when any other connection, in this
    process or another, commits a change to the database file, and not for the
    connection's own commits (sqlite.org/pragma.html#pragma_data_version). Asked before
    every lookup, it makes a kept row exactly as fresh as reading it again: a token
    revoked, an account disabled or a record changed through any connection is seen by the
    next lookup. It costs about a quarter of the statement it saves (issue 16). The only
    writes made on this connection are read events (``LeanInsert.many_if_free``), which
    change no row a lookup reads; nothing else may write through it.
    """

    def __init__(self, engine: Engine, limit: int = KEPT_ROWS) -> None:
        if engine.dialect.name != "sqlite":
            raise RuntimeError("data_version is SQLite's; a server database reads anew")
        self._engine = engine
        self._limit = limit
        self._own = threading.local()

    def connection(self) -> Any:
        """This thread's connection (in autocommit; it never waits for a lock)."""
        return own_connection(self._engine, self._own, busy_timeout_ms=0)

    def first(self, select: LeanSelect, derive: Callable[[Any], T], **params: str | int
              ) -> T:
        """``derive(select.first(**params))``, kept while the database is unchanged.
        ``derive`` must depend on the row alone (no clock): what depends on the time is
        the caller's to check on every call. A lookup that finds no row is not kept."""
        own = self._own
        connection = self.connection()
        cursor = getattr(own, "cursor", None)
        if cursor is None:
            cursor = own.cursor = connection.cursor()
            own.kept, own.version = {}, None
        version = cursor.execute("PRAGMA data_version").fetchone()[0]
        kept: dict[tuple[Any, ...], T] = own.kept
        if version != own.version:
            kept.clear()
            own.version = version
        key = (select, derive, *params.items())
        found = kept.get(key)
        if found is None:
            row = select.first_on(connection, **params)
            found = derive(row)
            if row is not None and found is not None:
                if len(kept) >= self._limit:
                    kept.clear()
                kept[key] = found
        return found


#: Times on which ``sqlite_utc_text`` is checked against the processors it stands for.
_PROBES = (datetime(2026, 12, 7, 18, 10, 0, 123456, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
           datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))


def sqlite_utc_text(processors: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``processors`` (a ``UtcDateTime`` column's on SQLite: to UTC, then SQLAlchemy's text
    ``YYYY-MM-DD HH:MM:SS.ffffff``) with a shortcut for a datetime already in UTC (every
    audit event's): ``isoformat`` writes the same text at a fifth of the cost. Used only
    if it gives the processors' text on every probe; any other value goes through them."""

    def bind(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return value.isoformat(" ", "microseconds")[:26]
        return processors(value)

    if all(bind(t) == processors(t) for t in _PROBES):
        return bind
    return processors


class LeanInsert:
    """``LeanInsert(table, keys, engine).many(rows)``: the rows (mappings with exactly
    ``keys``) inserted in one transaction of their own, straight through the driver, with
    the columns' own bind processors (a datetime is stored exactly as through Core). On
    SQLite the caller holds the process's writer lock (``store.db.writer_lock``)."""

    def __init__(self, table: Table, keys: Sequence[str], engine: Engine) -> None:
        dialect = engine.dialect
        compiled = insert(table).values({k: bindparam(k) for k in keys}).compile(
            dialect=dialect)
        self._engine = engine
        self._sql = str(compiled)
        self._sqlite = dialect.name == "sqlite"
        self._keys = tuple(keys)
        self._order = list(compiled.positiontup) if compiled.positional and \
            compiled.positiontup else None
        self._convert: list[tuple[str, Callable[[Any], Any]]] = []
        for key in keys:
            processor = table.c[key].type._cached_bind_processor(dialect)
            if processor is None:
                continue
            if self._sqlite and isinstance(table.c[key].type, UtcDateTime):
                self._convert.append((key, sqlite_utc_text(processor)))
            else:
                self._convert.append((key, processor))

    def many(self, rows: Sequence[Mapping[str, Any]],
             before: Callable[[Any, list[dict[str, Any]]], R] | None = None) -> R | None:
        """Insert ``rows`` and commit. ``before(cursor, rows)``, if given, runs first in the
        same transaction and may fill in the rows (copies); what it returns is returned."""
        raw = self._engine.raw_connection()
        try:
            if self._sqlite:  # its connections are in autocommit: BEGIN is ours
                raw.cursor().execute("BEGIN IMMEDIATE")
            return self._insert(raw, rows, before)
        finally:
            raw.close()

    def many_if_free(self, connection: Any, rows: Sequence[Mapping[str, Any]],
                     before: Callable[[Any, list[dict[str, Any]]], R] | None = None
                     ) -> tuple[bool, R | None]:
        """SQLite: ``many`` on ``connection`` (one that never waits for a lock, in
        autocommit: ``KeptReads.connection``), but only if the database's write lock is
        free this instant: ``(False, None)``, nothing written, if another connection holds
        it (the caller must not wait, e.g. an event loop)."""
        if not self._sqlite:
            raise RuntimeError("only SQLite's write lock is tried without waiting")
        if connection.in_transaction:  # never expected: a transaction left open is ended,
            LOG.warning("a read-event connection was left in a transaction; rolled back")
            connection.rollback()  # not taken for a busy database below
        try:
            connection.execute("BEGIN IMMEDIATE")
        except self._engine.dialect.dbapi.OperationalError:  # type: ignore[union-attr]
            return False, None  # busy: another connection is writing
        return True, self._insert(connection, rows, before)

    def json_array(self, rows: Sequence[Mapping[str, Any]]) -> str:
        """``rows`` as one JSON array of objects with exactly ``keys``, each value as its
        column's bind processor gives it, for a server database to read in one parameter
        (``audit_chain.append_reads``). orjson writes the values, which must be of the kinds
        it writes: text, numbers, None, aware datetimes (with their microseconds). One
        parameter keeps the statement's text fixed: psycopg parses a query of more than 50
        parameters anew on every call (about a third of a batch's CPU, issue 16)."""
        copies = [dict(row) for row in rows]
        for row in copies:
            self._params(row)
        keys = self._keys
        return orjson.dumps([{k: row[k] for k in keys} for row in copies]).decode()

    def _insert(self, raw: Any, rows: Sequence[Mapping[str, Any]],
                before: Callable[[Any, list[dict[str, Any]]], R] | None) -> R | None:
        copies = [dict(row) for row in rows]
        cursor = raw.cursor()
        try:
            said = before(cursor, copies) if before is not None else None
            cursor.executemany(self._sql, [self._params(row) for row in copies])
            if self._sqlite:
                cursor.execute("COMMIT")
            else:
                raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            cursor.close()
        return said

    def _params(self, row: dict[str, Any]) -> Any:
        for key, processor in self._convert:
            row[key] = processor(row[key])
        return [row[k] for k in self._order] if self._order is not None else row
