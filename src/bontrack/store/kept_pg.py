"""Lookups kept on a server database, each use vouched for by the audit batch that
records it (issue 16).

SQLite tells a connection, for the price of a pragma, whether anyone else has committed
(``lean.KeptReads``); PostgreSQL has no such counter, so a kept row is checked where a
round trip is made anyway: in the statement that commits the read events of the requests
it answered (``audit_chain.append_reads``). A lookup runs once, and keeps what ``derive``
made of its row together with the row as PostgreSQL writes it as text. Each later use of
it gives a ``Vouch``, which goes with the request's read event; the batch's one statement
reads every vouched row again, on a snapshot taken after each of its requests arrived, and
commits the events only if each row's text is still the kept one. If any changed (a token
revoked, an account disabled, a record's version moved), nothing of the batch is written,
the batch's kept rows are dropped, and the requests that relied on one are refused the shortcut
(``StaleRead``): each takes the full path, which reads and records afresh. So a kept row
answers no request that a fresh lookup at that moment would have answered differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import orjson
from sqlalchemy import Engine, Select, Text, cast, tuple_
from sqlalchemy.sql.elements import Label

from bontrack.store.lean import KEPT_ROWS, LeanSelect
from bontrack.store.loop_pg import LoopConnections

T = TypeVar("T")

#: The label of the row's text among the lookup's columns.
KEPT_TEXT = "kept_text"
#: PostgreSQL's type for a parameter's value in the check's JSON, by its Python type.
_PG_TYPES = {str: "text", int: "bigint"}


class KeptCheck:
    """One statement, kept: its lookup with the row's text added (``lookup``), and the
    check of any number of kept rows against the database in one statement (``sql``)."""

    def __init__(self, stmt: Select[Any], engine: Engine) -> None:
        if stmt._limit_clause is not None or stmt._offset_clause is not None:
            raise ValueError("a kept lookup is one row by its parameters: no LIMIT, OFFSET")
        plain = [c.element if isinstance(c, Label) else c for c in stmt.selected_columns]
        text = cast(tuple_(*plain), Text).label(KEPT_TEXT)
        self.lookup = LeanSelect(stmt.add_columns(text), engine)
        compiled = stmt.with_only_columns(text, maintain_column_froms=False).compile(
            dialect=engine.dialect)
        #: The statement's parameters, each given by the caller (a bound literal would
        #: need a value the check cannot send: refused here).
        self.names = tuple(sorted(compiled.binds))
        if any(compiled.binds[n].value is not None for n in self.names):
            raise ValueError("a kept lookup's parameters are all given by its caller")
        #: The row's text for the parameters of each row of the check's JSON.
        self._inner = re.sub(r"%\((\w+)\)s", lambda m: f'k."{m.group(1)}"', str(compiled))
        self._sql: dict[tuple[str, ...], str] = {}

    def check(self, vouches: Sequence[Vouch]) -> tuple[str, str]:
        """(SQL, its one parameter): true when every vouched row reads as it was kept.
        The vouches' parameters must be of one kind each (``KeptAsync.checks``)."""
        types = tuple(_PG_TYPES[type(v)] for v in vouches[0].params)
        sql = self._sql.get(types)
        if sql is None:
            columns = ", ".join(f'"{n}" {t}' for n, t in zip(self.names, types, strict=True))
            sql = self._sql[types] = (
                f"SELECT coalesce(bool_and(l.{KEPT_TEXT} IS NOT DISTINCT FROM k.{KEPT_TEXT}),"
                f" true) FROM json_to_recordset(%s::json) AS k({columns}, {KEPT_TEXT} text) "
                f"LEFT JOIN LATERAL ({self._inner} LIMIT 1) AS l ON true")
        rows = [dict(zip(self.names, v.params, strict=True), **{KEPT_TEXT: v.text})
                for v in vouches]
        return sql, orjson.dumps(rows).decode()


class Vouch(NamedTuple):
    """A use of a kept row: its check, the lookup's parameters, and the row's text."""

    check: KeptCheck
    params: tuple[str | int, ...]
    text: str
    key: tuple[Any, ...]  # the kept row's, in ``KeptAsync``


class KeptAsync:
    """What lookups on the loop's own connections found, kept until a batch finds a kept
    row of its own changed (``drop``) or the caller finds one no longer answers
    (``forget``), at most ``limit`` rows (then all are dropped)."""

    def __init__(self, engine: Engine, limit: int = KEPT_ROWS) -> None:
        self._engine = engine
        self._limit = limit
        self._checks: dict[Select[Any], KeptCheck] = {}
        self._kept: dict[tuple[Any, ...], tuple[Any, Vouch]] = {}

    async def first(self, connections: LoopConnections, stmt: Select[Any],
                    derive: Callable[[Any], T], **params: str | int
                    ) -> tuple[T, Vouch | None]:
        """``derive`` of the first row of ``stmt``, and the vouch the read's audit batch
        must check when it came from memory (None when it was read now). ``derive`` must
        depend on the row alone; a row not found, or derived as None, is not kept.
        Parameters are ``str`` or ``int`` (a ``bool`` would find the row kept for 1)."""
        if any(type(v) not in _PG_TYPES for v in params.values()):
            raise TypeError("a kept lookup's parameters are str or int")
        key = (stmt, derive, *params.items())
        hit = self._kept.get(key)
        if hit is not None:
            found: T = hit[0]
            return found, hit[1]
        check = self._checks.get(stmt)
        if check is None:
            check = self._checks.setdefault(stmt, KeptCheck(stmt, self._engine))
        row = await check.lookup.first_async(connections, **params)
        found = derive(row)
        if row is not None and found is not None:
            if len(self._kept) >= self._limit:
                self._kept.clear()
            self._kept[key] = (found, Vouch(check, tuple(params[n] for n in check.names),
                                            getattr(row, KEPT_TEXT), key))
        return found, None

    def forget(self, stmt: Select[Any], derive: Callable[[Any], Any],
               **params: str | int) -> None:
        """Drop the kept row of this lookup: the caller found that it no longer answers
        (e.g. a token whose use must now be recorded, which the full path then writes), so
        the next lookup reads the row anew rather than keep failing on the old one."""
        self._kept.pop((stmt, derive, *params.items()), None)

    def checks(self, vouches: Sequence[Vouch]) -> list[tuple[str, str]]:
        """The checks of ``vouches``: one statement and parameter per kept statement and
        kind of parameters."""
        groups: dict[tuple[KeptCheck, tuple[type, ...]], list[Vouch]] = {}
        for vouch in vouches:
            kinds = tuple(type(v) for v in vouch.params)
            groups.setdefault((vouch.check, kinds), []).append(vouch)
        return [check.check(group) for (check, _), group in groups.items()]

    def drop(self, vouches: Sequence[Vouch]) -> None:
        """Forget the kept rows of ``vouches``: a batch found one of them changed. (Each
        use of any other is checked anyway; they stay.)"""
        for vouch in vouches:
            self._kept.pop(vouch.key, None)
