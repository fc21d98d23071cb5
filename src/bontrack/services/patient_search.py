"""Patient search: the search text anywhere in the MRN or the name, case-insensitively, one
page at a time in id order, within the reader's clinic only.

Fast at registry size (issue 16 item 7) because nothing scans the table: a trigram index
finds the candidates (SQLite FTS5 ``patients_search``, PostgreSQL pg_trgm GIN indexes, both
made by migration 0013) and the same ILIKE test as before confirms them, so the answers are
the ones a scan gives. Pages are found by keyset (``cursor``: after this id) as well as by
offset, and the number of matches is counted only up to ``COUNT_LIMIT``."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, func, or_, select, table, text
from sqlalchemy.orm import Session

from bontrack.errors import InvalidRecord
from bontrack.services import audit
from bontrack.services.access import Actor, require_role
from bontrack.services.usecase import use_case
from bontrack.store.models import Patient
from bontrack.store.search_index import FTS_TABLE, LIKE_ESCAPE, like_literal

#: Matches are counted up to this many; beyond it ``total`` is this number and
#: ``total_exact`` is false. Counting a match costs as much as reading it (each candidate is
#: checked against the text), so the bound is a few pages, not the clinic: at 1,000 a common
#: three-letter text spent ten times as long counting as finding its page.
COUNT_LIMIT = 200

#: The trigram index needs at least three characters; a shorter text is matched by a scan
#: in id order that stops when the page is full.
TRIGRAM = 3

MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class PatientPage:
    rows: list[Patient]
    total: int  # matches, counted up to COUNT_LIMIT
    total_exact: bool  # false: at least ``total`` match
    more: bool  # another page follows this one
    next_cursor: str | None  # pass as ``cursor`` for the next page


def read_cursor(cursor: str | None) -> int | None:
    """The id a page starts after; a cursor is the ``next_cursor`` of an earlier page."""
    if cursor is None or cursor == "":
        return None
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19 \
            or int(cursor) > MAX_ID:
        raise InvalidRecord("cursor: not a cursor this server gave (use next_cursor)",
                            field="cursor")
    return int(cursor)


def _has_fts(session: Session) -> bool:
    return session.execute(text(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
        {"n": FTS_TABLE}).first() is not None


def _matching(session: Session, clinic_id: int, q: str | None) -> tuple[Any, Any]:
    """The clinic's patients matching ``q`` (no order, no page), and the column that orders
    them by id."""
    stmt = select(Patient).where(Patient.clinic_id == clinic_id)
    term = (q or "").strip()[:100]
    if not term:
        return stmt, Patient.id
    # the search text is literal: % and _ match themselves, not any characters
    like = f"%{like_literal(term)}%"
    order: Any = Patient.id
    if (len(term) >= TRIGRAM and session.get_bind().dialect.name == "sqlite"
            and _has_fts(session)):
        # candidates from the trigram index (a superset: it also folds non-ASCII case);
        # the ILIKE below keeps exactly the answers of a scan. Joined, not IN (...), and
        # ordered by the index's own rowid (= the patient's id), so SQLite reads the
        # matches in id order and stops when the page and the count are full.
        fts = table(FTS_TABLE, column("rowid"))
        phrase = '"' + term.replace('"', '""') + '"'
        stmt = stmt.join(fts, fts.c.rowid == Patient.id).where(
            text(f"{FTS_TABLE} MATCH :phrase").bindparams(phrase=phrase))
        order = fts.c.rowid
    return stmt.where(or_(Patient.mrn.ilike(like, escape=LIKE_ESCAPE),
                          Patient.display_name.ilike(like, escape=LIKE_ESCAPE))), order


@use_case()
def search_patients(session: Session, actor: Actor, q: str | None, limit: int,
                    offset: int = 0, cursor: str | None = None) -> PatientPage:
    """One page of the clinic's patients matching ``q`` (all of them without ``q``), after
    ``cursor`` (keyset) or from ``offset``."""
    require_role(actor, ("admin", "clinician", "nurse"), "search patients")
    if q and any(unicodedata.category(ch) in ("Cc", "Cs") for ch in q):
        # NUL cannot be sent to PostgreSQL (500 there, issue 15); no name holds a control
        raise InvalidRecord("q: the search text contains a control character", field="q")
    after = read_cursor(cursor)
    if after is not None and offset:
        raise InvalidRecord("offset: give a cursor or an offset, not both", field="offset")
    matching, order = _matching(session, actor.clinic_id, q)
    for setting in plan_settings(session.get_bind().dialect.name, q):
        session.execute(text(setting))
    if after is None and offset == 0:
        # the first page: one query finds the page's ids and counts (up to the limit)
        ids = list(session.scalars(first_ids(matching, order, limit)))
        total, more = len(ids), len(ids) > limit
        rows = list(session.scalars(select(Patient).where(Patient.id.in_(ids[:limit]))
                                    .order_by(Patient.id))) if ids else []
    else:
        page = matching if after is None else matching.where(order > after)
        rows = list(session.scalars(page.order_by(order).limit(limit + 1)
                                    .offset(offset)))
        more = len(rows) > limit
        rows = rows[:limit]
        total = _count(session, matching)
    exact = total <= COUNT_LIMIT
    audit.record(session, actor, "search", "patient", detail=f"q={q or ''!r} n={len(rows)}")
    return PatientPage(rows=rows, total=min(total, COUNT_LIMIT), total_exact=exact,
                       more=more, next_cursor=str(rows[-1].id) if more else None)


def first_ids(matching: Any, order: Any, limit: int) -> Any:
    """The first page's ids and enough more to count up to COUNT_LIMIT, in one query."""
    return matching.with_only_columns(Patient.id).order_by(order).limit(
        max(COUNT_LIMIT, limit) + 1)


def plan_settings(dialect: str, q: str | None) -> list[str]:
    """Planner settings for this search's transaction (PostgreSQL only).

    A prepared statement's generic plan does not know the pattern, so it cannot choose the
    trigram index for a rare text and scans every patient instead: plans are made for each
    pattern. Even then PostgreSQL guesses that about 2 % of patients match any text, so for
    a text matching fewer than a page and a count it walks the primary key in id order
    hoping to stop early, and reads the whole clinic (66 ms at 100,000 patients for a name
    150 of them have). Reading the trigram index's candidates always (a bitmap scan, then
    the matches sorted by id) costs 0.5-10 ms there for every text, common or rare
    (docs/benchmarks.md, "Patient search"). ``SET LOCAL`` ends with the transaction."""
    term = (q or "").strip()
    if dialect != "postgresql" or not term:
        return []
    settings = ["SET LOCAL plan_cache_mode = force_custom_plan"]
    if len(term) >= TRIGRAM:
        settings += ["SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off"]
    return settings


def _count(session: Session, matching: Any) -> int:
    """Matches, counted up to COUNT_LIMIT + 1 (never the whole table)."""
    sub = matching.with_only_columns(Patient.id).limit(COUNT_LIMIT + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)
