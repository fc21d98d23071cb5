"""The hash chain of the audit trail: how an event's hash is computed, the chainer that
gives committed events their place in the chain, and the check of the whole chain
(``bontrack audit verify``).

Requests insert their events unchained, in their own transaction and without any lock, so
a write and its audit event still commit or roll back together and no request waits for
another's. The chain's order is kept by one chainer at a time (``chain_pending``): on
PostgreSQL whoever holds the chain's advisory lock, on SQLite the one writer. It reads the
head of the chain and the committed unchained events in id order, and fills ``chain_seq``,
``prev_hash`` and ``hash`` of each, once (the append-only triggers allow only that). Each
process runs it in a background thread (``Chainer``), poked after every commit that wrote
an event; ``audit verify`` and ``audit checkpoint`` run it to the end first.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, update

from bontrack.store.bulk import table_of
from bontrack.store.models import AuditEvent

GENESIS = "0" * 64
#: PostgreSQL advisory lock held (transaction-scoped) by the one chainer at work.
PG_CHAIN_LOCK = 7312002
#: Events chained per statement batch.
BATCH = 5_000

log = logging.getLogger(__name__)


def _stamp(at: datetime) -> str:
    """The event's time as hashed: UTC, ``%Y-%m-%dT%H:%M:%S.%f`` as Python 3.11's
    ``strftime`` wrote it (``isoformat`` writes the same digits for years from 1000 on, at
    a fifth of the cost; before, the year unpadded, whatever a later Python's strftime
    does)."""
    if at.tzinfo is not None and at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    if at.year < 1000:  # Python 3.11's strftime did not pad the year to four digits
        return (f"{at.year}-{at.month:02d}-{at.day:02d}T{at.hour:02d}:{at.minute:02d}:"
                f"{at.second:02d}.{at.microsecond:06d}")
    return at.isoformat(timespec="microseconds")[:26]  # without the offset


def event_hash(prev: str, at: datetime, user_id: int | None, clinic_id: int | None,
               action: str, entity: str, entity_id: int | None, patient_id: int | None,
               outcome: str, detail: str) -> str:
    text = (f"{prev!s}|{_stamp(at)}|{user_id!s}|{clinic_id!s}|{action!s}|{entity!s}|"
            f"{entity_id!s}|{patient_id!s}|{outcome!s}|{detail!s}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verdict:
    events: int
    broken_at: int | None
    reason: str

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(rows: Iterable[Any]) -> Verdict:
    """Check rows (in id order) with the fields of ``event_hash`` plus id, prev_hash, hash."""
    prev = GENESIS
    n = 0
    for r in rows:
        n += 1
        if r.prev_hash != prev:
            return Verdict(n, r.id, f"event {r.id} does not follow the event before it "
                                    "(an event was deleted or inserted)")
        expected = event_hash(r.prev_hash, r.at, r.user_id, r.clinic_id, r.action, r.entity,
                              r.entity_id, r.patient_id, r.outcome, r.detail)
        if r.hash != expected:
            return Verdict(n, r.id, f"event {r.id} was changed after it was written")
        prev = r.hash
    return Verdict(n, None, "chain intact")


def chained_events() -> Select[Any]:
    """Every chained event in chain order (what ``verify`` walks); events not chained yet
    are newer than all of them and are left out."""
    t = AuditEvent.__table__
    return select(t).where(t.c.chain_seq.is_not(None)).order_by(t.c.chain_seq)


def chain_pending(conn: Connection, wait: bool = False) -> int:
    """Chain every committed unchained event, in id order, after the chain's head; returns
    how many. On PostgreSQL another chainer at work makes this return 0 at once, unless
    ``wait`` (``audit verify``: everything committed before it starts is chained). On SQLite
    ``conn`` is in a write transaction, which already excludes every other writer."""
    if conn.dialect.name == "postgresql":
        if wait:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_CHAIN_LOCK})")
        elif not conn.exec_driver_sql(
                f"SELECT pg_try_advisory_xact_lock({PG_CHAIN_LOCK})").scalar():
            return 0
    t = AuditEvent.__table__
    head = conn.execute(select(t.c.chain_seq, t.c.hash).where(t.c.chain_seq.is_not(None))
                        .order_by(t.c.chain_seq.desc()).limit(1)).first()
    seq, prev = (int(head.chain_seq), str(head.hash)) if head else (0, GENESIS)
    place = (update(table_of(AuditEvent)).where(t.c.id == bindparam("i"))
             .values(chain_seq=bindparam("s"), prev_hash=bindparam("p"), hash=bindparam("h")))
    done = 0
    while True:
        rows = conn.execute(
            select(t.c.id, t.c.at, t.c.user_id, t.c.clinic_id, t.c.action, t.c.entity,
                   t.c.entity_id, t.c.patient_id, t.c.outcome, t.c.detail)
            .where(t.c.chain_seq.is_(None)).order_by(t.c.id).limit(BATCH)).all()
        if not rows:
            return done
        links = list(chain_links((seq, prev), (r[1:] for r in rows)))
        conn.execute(place, [{"i": r.id, "s": s, "p": p, "h": h}
                             for r, (s, p, h) in zip(rows, links, strict=True)])
        seq, _, prev = links[-1]
        done += len(rows)


def chain_links(head: tuple[int, str], events: Iterable[Sequence[Any]]
                ) -> Iterator[tuple[int, str, str]]:
    """``(chain_seq, prev_hash, hash)`` of each event placed, in turn, after ``head`` (the
    chain's last place and hash); each event given by the fields of ``event_hash`` after
    ``prev``, in order. Every way of chaining (``chain_pending``, ``place_batch``) uses it."""
    seq, prev = head
    for fields in events:
        seq += 1
        digest = event_hash(prev, *fields)
        yield seq, prev, digest
        prev = digest


#: Is any committed event still unchained?
WAITING = "SELECT 1 FROM audit_events WHERE chain_seq IS NULL LIMIT 1"
#: The head of the chain: its place and hash.
HEAD = ("SELECT chain_seq, hash FROM audit_events WHERE chain_seq IS NOT NULL "
        "ORDER BY chain_seq DESC LIMIT 1")
#: What ``place_batch`` asks, in one statement: whether an event waits, and the head's
#: place and hash (NULLs for an empty chain).
STATE = (f"SELECT EXISTS ({WAITING}), (SELECT chain_seq FROM ({HEAD}) AS h), "
         f"(SELECT hash FROM ({HEAD}) AS h)")


def place_batch(cursor: Any, rows: list[dict[str, Any]]) -> bool:
    """Chain a batch of new events before it is inserted, on SQLite's DBAPI ``cursor`` in
    the write transaction that inserts it (the one writer: nobody else can chain or insert
    meanwhile). Done only when every committed event is already chained, so the batch
    follows the head in id order exactly as ``chain_pending`` would have placed it, and the
    chainer has nothing to do for it. Returns False (rows left unchained, for the chainer)
    when an earlier event still waits."""
    waiting, seq, digest = cursor.execute(STATE).fetchone()
    if waiting:
        return False
    _place(_head(seq, digest), rows)
    return True


def _head(seq: int | None, digest: str | None) -> tuple[int, str]:
    """The chain's head from STATE's place and hash (NULLs: the empty chain)."""
    return (int(seq), str(digest)) if seq is not None else (0, GENESIS)


#: A batch of read events inserted on PostgreSQL by one statement in autocommit (its own
#: transaction, one round trip): ``audit_append_reads`` (migration 0024) tries the chain's
#: lock, and with it places the events committed unchained meanwhile (up to ``BATCH``) and
#: then the batch; without it inserts the batch unchained, for the chainer.
APPEND_CALL = f"audit_append_reads(%s::json, {PG_CHAIN_LOCK}, {BATCH})"


async def append_reads(conn: Any, events_json: str,
                       unless: Sequence[tuple[str, str]] = ()) -> bool | None:
    """Insert the events of ``events_json`` (``LeanInsert.json_array``) on a loop's own
    PostgreSQL connection in autocommit (``store.loop_pg``), chained as they are inserted
    when the chain's lock is free this instant (nobody waits for it); returns whether they
    were (False: left to the chainer, which must be poked). ``unless``: checks, each a
    statement of one boolean and its one parameter (``kept_pg.KeptCheck.check``); the
    events are written only if all are true, in the same statement, else nothing is
    written and None is returned. ``audit_event_hash``, the function's hash, is
    ``event_hash`` in SQL: a test holds the two to the same digests, and ``verify`` checks
    every hash in Python."""
    if unless:
        sql = ("SELECT CASE WHEN " + " AND ".join(f"({check})" for check, _ in unless)
               + f" THEN {APPEND_CALL} END")
        params = [param for _, param in unless] + [events_json]
    else:
        sql, params = f"SELECT {APPEND_CALL}", [events_json]
    cursor = await conn.execute(sql, params)
    found = await cursor.fetchone()
    return None if found is None or found[0] is None else bool(found[0])


#: An event's fields that ``event_hash`` covers after ``prev``, in its order.
HASHED = ("at", "user_id", "clinic_id", "action", "entity", "entity_id", "patient_id",
          "outcome", "detail")


#: An event row's ``HASHED`` fields as one tuple (at C speed: a batch's every row).
_hashed_fields = itemgetter(*HASHED)


def _place(head: tuple[int, str], rows: list[dict[str, Any]]) -> None:
    """Fill chain_seq, prev_hash and hash of ``rows`` as the events after ``head``."""
    links = chain_links(head, map(_hashed_fields, rows))
    for r, (seq, prev, digest) in zip(rows, links, strict=True):
        r["chain_seq"], r["prev_hash"], r["hash"] = seq, prev, digest


class Chainer:
    """A daemon thread that runs ``chain`` (one chaining pass in its own transaction) when
    poked after a commit that wrote events, and every ``idle`` seconds for events other
    processes wrote. Events wait unchained for at most about ``idle`` seconds; an error
    (the database briefly gone) is logged and retried on the next round."""

    def __init__(self, chain: Callable[[], int], idle: float = 1.0,
                 gather: float = 0.2) -> None:
        self._chain = chain
        self._idle = idle
        self._gather = gather
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-chainer", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            if self._wake.wait(self._idle):
                self._stop.wait(self._gather)  # let the commits arriving meanwhile join
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._chain()
                failing = False
            except Exception as exc:  # the thread must outlive a lost connection
                if not failing:
                    log.warning("audit chainer: a pass failed (%s); retrying",
                                str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                failing = True

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
