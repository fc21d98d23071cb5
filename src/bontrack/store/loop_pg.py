"""A few PostgreSQL connections that live on an event loop (psycopg's async connections),
for the hottest reads and the group commit of their audit events.

A statement through SQLAlchemy's pool from an async route costs a hop to a worker thread
and back, a pool checkout with its ping, and a hand-off to the audit writer's thread: on a
timeline GET these cost several times the statement itself (issue 16). These connections
are used only from their own loop, never wait on a thread, and are in autocommit (each
statement its own snapshot; a write runs in an explicit transaction). A connection that
fails is dropped and the next use opens another; ``close`` ends them all (the server's
``Database.dispose``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine

#: Settings of every loop connection (``-c`` options given when it connects).
PINNED = "-c DateStyle=ISO -c TimeZone=UTC"
#: Connections each event loop (each server process) keeps beyond the engine's pool.
PER_LOOP = 4


def conninfo_of(engine: Engine) -> dict[str, Any]:
    """The connection parameters of ``engine``'s URL, decoded (a space in a query option
    is a space: a URL rendered back to text writes it as ``+``, which libpq keeps); a
    parameter given twice counts once, its last value."""
    url = engine.url
    params: dict[str, Any] = url.translate_connect_args(username="user", database="dbname")
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return params


class LoopConnections:
    """``async with pool.connection() as conn``: one of ``PER_LOOP`` async connections of the
    running loop (waits, without a thread, while all are in use)."""

    def __init__(self, engine: Engine, size: int = PER_LOOP) -> None:
        conninfo = conninfo_of(engine)
        # the text of a row (``kept_pg``) and of a time depends on these: the same on
        # every one of these connections, whatever the database's or role's defaults
        conninfo["options"] = f"{conninfo.get('options') or ''} {PINNED}".strip()
        self._conninfo = make_conninfo("", **conninfo)
        self._size = size
        self._loops: dict[asyncio.AbstractEventLoop, _Pool] = {}
        self._lock = threading.Lock()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        loop = asyncio.get_running_loop()
        pool = self._loops.get(loop)
        if pool is None:
            with self._lock:
                for gone in [old for old in self._loops if old.is_closed()]:
                    self._loops.pop(gone).close()  # a test client's loop, say
                pool = self._loops.setdefault(loop, _Pool(self._size))
        conn = await pool.take(self._conninfo)
        try:
            yield conn
        finally:
            pool.give(conn)

    def close(self) -> None:
        """End every connection (from any thread; their loops may have stopped)."""
        with self._lock:
            pools, self._loops = list(self._loops.values()), {}
        for pool in pools:
            pool.close()


class _Pool:
    """The connections of one loop, and the requests waiting for one (in order)."""

    def __init__(self, size: int) -> None:
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._all: list[psycopg.AsyncConnection[Any]] = []
        self._size = size
        self._opening = 0
        self._waiters: deque[asyncio.Future[psycopg.AsyncConnection[Any] | None]] = deque()

    async def take(self, conninfo: str) -> psycopg.AsyncConnection[Any]:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
            self._forget(conn)
        if len(self._all) + self._opening >= self._size:
            waiter: asyncio.Future[psycopg.AsyncConnection[Any] | None] = (
                asyncio.get_running_loop().create_future())
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                late = waiter.result() if waiter.done() and not waiter.cancelled() else None
                if late is not None:
                    self.give(late)  # handed over as the request was cancelled
                raise
            if handed is not None:
                return handed
            return await self.take(conninfo)  # a broken one was dropped: open anew
        self._opening += 1
        try:
            conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        except BaseException:
            self._wake(None)  # a waiter tries for itself rather than wait for nothing
            raise
        finally:
            self._opening -= 1
        self._all.append(conn)
        return conn

    def give(self, conn: psycopg.AsyncConnection[Any]) -> None:
        usable = (not conn.closed and not conn.broken
                  and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE)
        if not usable:
            self._forget(conn)
            conn.pgconn.finish()
        if not self._wake(conn if usable else None) and usable:
            self._idle.append(conn)

    def _wake(self, conn: psycopg.AsyncConnection[Any] | None) -> bool:
        """Hand ``conn`` (None: leave to open one) to the first waiter still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def _forget(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if conn in self._all:
            self._all.remove(conn)

    def close(self) -> None:
        for conn in self._all:
            conn.pgconn.finish()  # synchronous: the loop may be gone
        self._all, self._idle = [], []
