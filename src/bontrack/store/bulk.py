"""Writing many rows at once: primary keys handed out in blocks, and one multi-row statement
per table instead of one round trip per row.

Used where thousands of rows are written in one transaction (the demo registry). The rows
go through the same column types as the ORM (SQLAlchemy Core ``insert`` with executemany),
or, on PostgreSQL, through ``COPY ... FROM STDIN``, which psycopg adapts from the same Python
values (dates, times with a zone, ``Decimal``); JSON columns are serialised here first.

Keys are taken *inside* the caller's transaction. On SQLite that transaction began with
``BEGIN IMMEDIATE`` (see ``store.db``) and holds the write lock, so ``max(id) + 1`` onwards is
free; rowid tables without AUTOINCREMENT (all of ours) carry on from the largest id, so later
ordinary inserts follow. On PostgreSQL the keys come from the column's own sequence
(``nextval``), so they never collide with rows written meanwhile by a running server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import JSON, Table, func, insert, select, text
from sqlalchemy.orm import Session

from bontrack.store.models import Base
from bontrack.store.types import UtcDateTime, to_utc

#: Rows per executemany call; large enough that the per-call cost vanishes.
CHUNK = 5_000


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def new_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """``count`` unused primary keys of ``model``'s table, ascending (in the caller's
    transaction)."""
    table = table_of(model)
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                 "FROM generate_series(1, :n)"),
            {"t": table.name, "n": count},
        )
        return sorted(r[0] for r in rows)
    top = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(top + 1, top + 1 + count))


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]
                ) -> None:
    """Insert ``rows`` into ``model``'s table; every row names the same columns (``id`` where
    the caller took keys with ``new_ids``, else the database numbers the rows in order)."""
    if not rows:
        return
    table = table_of(model)
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, table, rows)
    else:
        _executemany(session, table, rows)


def _executemany(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The statement SQLAlchemy would compile, run by the driver's ``executemany`` with the
    values converted by each column type's own bind processor (as the ORM stores them), but
    without SQLAlchemy's per-row parameter bookkeeping, which costs more than the insert."""
    dialect = session.get_bind().dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0].keys()))
    names = list(compiled.positiontup or ())
    values = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    convert = [(k, f) for k, n in enumerate(names)
               if (f := table.c[n].type.dialect_impl(dialect).bind_processor(dialect))]
    connection = session.connection()
    for start in range(0, len(rows), CHUNK):
        params = []
        for row in rows[start:start + CHUNK]:
            v = list(values(row))
            for k, f in convert:
                v[k] = f(v[k])
            params.append(tuple(v))
        connection.exec_driver_sql(compiled.string, params)


def _copy(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` on the session's own connection (and so in its
    transaction)."""
    names = list(rows[0].keys())
    as_json = {n for n in names if isinstance(table.c[n].type, JSON)}
    # COPY bypasses the column types: timestamps are put in UTC here, as UtcDateTime would
    as_utc = {n for n in names if isinstance(table.c[n].type, UtcDateTime)}
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(f'"{n}"' for n in names)
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([json.dumps(row[n]) if n in as_json
                            else to_utc(row[n]) if n in as_utc and row[n] is not None
                            else row[n] for n in names])
    cursor.close()
