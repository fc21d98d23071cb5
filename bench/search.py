"""Benchmark: patient search over a large clinic, by MRN and by name (issue 16 item 7).

The registry: ``--patients`` synthetic patients in one clinic (plus a tenth as many in a
second clinic, which the searches must never return), bulk-inserted in chunks (a few
seconds; the search index follows by its triggers on SQLite, its GIN indexes on
PostgreSQL). Names are drawn from syllables, MRNs are 8 random digits, so a text matches a
realistic few, not thousands. A registry that already holds the patients is reused.

Each search is a whole service call as the API makes it (``records.search_patients``: the
access check, the query, the bounded count, the audit event, the commit), one page of 50.
Kinds, each with ``--queries`` different texts drawn from the registry:

- ``mrn_exact``: a whole MRN; ``mrn_prefix``: its first 5 characters;
- ``name_prefix``: the first 3-5 letters of a surname; ``name_substring``: 3-5 letters from
  inside a name.

Baseline in the same run: reading one patient by primary key through the same kind of
service call (``records.get_patient``, also access-checked and audited). Runs alternate the
kinds and the baseline ``--runs`` times; p50/p95/p99 per kind. Goal: p95 < 50 ms for every
kind (the median of the runs' p95s). The same calls are also timed rolled back instead of
committed (the audit event is still written, but no commit is waited for), which shows the
search's own cost apart from the commit latency of a busy database. The client thread's
CPU time per call is printed too: on SQLite it includes the database's work and shows the
cost without the waits of a loaded machine (on PostgreSQL the server's CPU is not in it).
``--scan`` also times the query this replaced (ILIKE over every patient plus a count of
all matches) for comparison.

    python bench/search.py [--patients 100000] [--db sqlite:////tmp/bench-search.db]
                           [--queries 200] [--runs 3] [--scan] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from bontrack.services import accounts, records
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade
from bontrack.store.models import Clinic, Patient, User

sys.path.insert(0, str(Path(__file__).parent))
from result import add_options, emit, peak_rss_mib, spread

CLINIC, OTHER = "Search bench clinic", "Search bench other clinic"
SYLLABLES = ("an", "bel", "cor", "da", "el", "fen", "gar", "ha", "is", "jo", "ka", "lin",
             "mar", "ne", "or", "pa", "qui", "ra", "sol", "ta", "ul", "ve", "wen", "xa",
             "yo", "zel", "bri", "cha", "dor", "est", "fra", "gio", "hel", "ing", "ju",
             "kra", "lo", "mi", "nor", "ost", "pri", "ros", "sten", "tru", "vik", "wol")
KINDS = ("mrn_exact", "mrn_prefix", "name_prefix", "name_substring")
GOAL_MS = 50.0
PASSWORD = "search bench password 1"


def _word(rng: random.Random, parts: tuple[int, int]) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(*parts))).capitalize()


def _rows(clinic_id: int, start: int, n: int, rng: random.Random, mrns: set[str]
          ) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    out = []
    for _ in range(n):
        mrn = f"{rng.randrange(10**8):08d}"
        while mrn in mrns:
            mrn = f"{rng.randrange(10**8):08d}"
        mrns.add(mrn)
        out.append({"clinic_id": clinic_id, "mrn": mrn,
                    "display_name": f"{_word(rng, (1, 3))} {_word(rng, (2, 4))}",
                    "birth_date": date(1940 + rng.randrange(70), 1 + rng.randrange(12), 1),
                    "sex": rng.choice(("female", "male")), "flags": [], "medications": [],
                    "status": "active", "version": 1, "record_version": 1,
                    "created_at": now, "updated_at": now})
    return out


def build(sessions: Any, engine: Any, patients: int) -> tuple[Any, int]:
    """The clinic's clinician (as an actor) and how many patients it holds."""
    with transaction(sessions) as s:
        clinic = accounts.get_or_create_clinic(s, CLINIC)
        other = accounts.get_or_create_clinic(s, OTHER)
        user = s.scalar(select(User).where(User.username == "search-bench"))
        if user is None:
            user = accounts.add_user(s, clinic=clinic, username="search-bench",
                                     password=PASSWORD, role="clinician")
        actor = accounts.actor_of(user)
        ids = (clinic.id, other.id)
    with sessions() as s:
        have = s.scalar(select(func.count()).select_from(Patient)
                        .where(Patient.clinic_id == ids[0])) or 0
    if have >= patients:
        print(f"registry: reusing {have:,} patients")
        return actor, have
    rng = random.Random(16)
    mrns: set[str] = set()
    t0 = time.perf_counter()
    for clinic_id, n in ((ids[0], patients - have), (ids[1], patients // 10)):
        for start in range(0, n, 5000):
            with transaction(sessions) as s:
                s.execute(insert(Patient.__table__),
                          _rows(clinic_id, start, min(5000, n - start), rng, mrns))
    with engine.begin() as c:
        c.exec_driver_sql("ANALYZE")
    print(f"registry: {patients:,} patients (+{patients // 10:,} in another clinic) "
          f"inserted in {time.perf_counter() - t0:.1f} s")
    return actor, patients


def texts(sessions: Any, clinic_id: int, n: int, seed: int = 7) -> dict[str, list[str]]:
    rng = random.Random(seed)
    with sessions() as s:
        ids = list(s.scalars(select(Patient.id).where(Patient.clinic_id == clinic_id)))
        picked = [s.get(Patient, i) for i in rng.sample(ids, min(n, len(ids)))]
    out: dict[str, list[str]] = {k: [] for k in KINDS}
    for p in picked:
        assert p is not None
        out["mrn_exact"].append(p.mrn)
        out["mrn_prefix"].append(p.mrn[:5])
        last = p.display_name.split()[-1]
        out["name_prefix"].append(last[:rng.randint(3, min(5, len(last)))])
        name = p.display_name
        k = rng.randint(3, 5)
        i = rng.randrange(1, max(2, len(name) - k))
        out["name_substring"].append(name[i:i + k])
    return out


def scan(session: Session, clinic_id: int, q: str) -> None:
    """The query patient search ran before issue 16: ILIKE over every patient of the
    clinic, and a count of every match."""
    like = f"%{q}%"
    stmt = select(Patient).where(Patient.clinic_id == clinic_id, or_(
        Patient.mrn.ilike(like), Patient.display_name.ilike(like)))
    session.scalar(select(func.count()).select_from(stmt.subquery()))
    list(session.scalars(stmt.order_by(Patient.id).limit(50)))


CPU: dict[str, list[float]] = {}


def timed(fn: Callable[[], Any], kind: str = "") -> float:
    """Wall time of one call in ms; its CPU time in this thread (on SQLite that includes the
    database's own work, which runs in this process) is kept under ``kind``."""
    c, t = time.thread_time(), time.perf_counter()
    fn()
    wall = (time.perf_counter() - t) * 1000
    if kind:
        CPU.setdefault(kind, []).append((time.thread_time() - c) * 1000)
    return wall


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 \
        else xs[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--db", default="sqlite:////tmp/bench-search.db")
    ap.add_argument("--queries", type=int, default=200, help="texts per kind")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scan", action="store_true",
                    help="also time the full-scan query search used before")
    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.patients, args.queries, args.runs = 300, 10, 2
        args.db = f"sqlite:///{tempfile.mkdtemp(prefix='bench-search-')}/quick.db"
    engine = make_engine(args.db)
    upgrade(engine)
    sessions = session_factory(engine)
    actor, n = build(sessions, engine, args.patients)
    words = texts(sessions, actor.clinic_id, args.queries)
    with sessions() as s:
        ids = list(s.scalars(select(Patient.id).where(Patient.clinic_id == actor.clinic_id)
                             .limit(args.queries)))
        other = s.scalar(select(Clinic.id).where(Clinic.name == OTHER))

    def search(q: str) -> None:
        with transaction(sessions) as s:
            page = records.search_patients(s, actor, q, 50)
            if any(p.clinic_id != actor.clinic_id for p in page.rows):
                raise AssertionError("a search returned another clinic's patient")

    def read(pid: int) -> None:
        with transaction(sessions) as s:
            records.get_patient(s, actor, pid)

    def search_alone(q: str) -> None:
        with sessions() as s:  # the same call, rolled back: no commit to wait for
            records.search_patients(s, actor, q, 50)
            s.rollback()

    def read_alone(pid: int) -> None:
        with sessions() as s:
            records.get_patient(s, actor, pid)
            s.rollback()

    found = {k: 0 for k in KINDS}
    with transaction(sessions) as s:
        for kind in KINDS:
            for q in words[kind]:
                found[kind] += len(records.search_patients(s, actor, q, 50).rows)
    runs: dict[str, list[list[float]]] = {k: [] for k in ("baseline", *KINDS)}
    alone: dict[str, list[float]] = {k: [] for k in ("baseline", *KINDS)}
    for _ in range(args.runs):
        runs["baseline"].append([timed(lambda i=i: read(i), "baseline") for i in ids])
        for kind in KINDS:
            runs[kind].append([timed(lambda q=q: search(q), kind) for q in words[kind]])
        alone["baseline"] += [timed(lambda i=i: read_alone(i)) for i in ids]
        for kind in KINDS:
            alone[kind] += [timed(lambda q=q: search_alone(q)) for q in words[kind]]
    print(f"database: {engine.dialect.name}; {n:,} patients in the clinic "
          f"(another clinic #{other} is never returned); {args.queries} texts per kind, "
          f"{args.runs} runs; one page of 50")
    print(f"{'kind':<16}{'hits/text':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'p95/base':>10}{'CPU p50/p95':>14}   (median of the runs; p95 min-max)")
    p95: dict[str, list[float]] = {}
    for kind, rs in runs.items():
        p95[kind] = [pct(r, 95) for r in rs]
        p50 = statistics.median(pct(r, 50) for r in rs)
        p99 = statistics.median(pct(r, 99) for r in rs)
        hits = f"{found[kind] / len(words[kind]):.1f}" if kind in found else "1"
        ratio = statistics.median(p95[kind]) / statistics.median(p95["baseline"])
        cpu = f"{pct(CPU[kind], 50):.2f}/{pct(CPU[kind], 95):.2f}"
        print(f"{kind:<16}{hits:>10}{p50:>9.2f}{statistics.median(p95[kind]):>9.2f}"
              f"{p99:>9.2f}{ratio:>10.2f}{cpu:>14}   ({min(p95[kind]):.2f}-"
              f"{max(p95[kind]):.2f})")
    print("the same calls rolled back instead of committed (the search's own cost, without "
          "waiting for the commit):")
    for kind, xs in alone.items():
        print(f"{kind:<16}p50 {pct(xs, 50):7.2f} ms  p95 {pct(xs, 95):7.2f} ms  p99 "
              f"{pct(xs, 99):7.2f} ms")
    if args.scan:
        with sessions() as s:
            for kind in KINDS:
                xs = [timed(lambda q=q: scan(s, actor.clinic_id, q))
                      for q in words[kind][:20]]
                print(f"before (scan + count) {kind:<16} p50 {pct(xs, 50):7.1f} ms  "
                      f"p95 {pct(xs, 95):7.1f} ms")
    worst_kind = max(KINDS, key=lambda k: statistics.median(p95[k]))
    worst = statistics.median(p95[worst_kind])
    met = all(statistics.median(p95[k]) < GOAL_MS for k in KINDS)
    print(f"target: p95 < {GOAL_MS:.0f} ms for every kind: {'met' if met else 'NOT met'} "
          f"(slowest: {worst_kind}, {worst:.2f} ms)")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")
    engine.dispose()
    emit(args, bench="search", value=worst, unit="ms (p95 of the slowest kind)",
         baseline=statistics.median(p95["baseline"]), goal=f"p95 < {GOAL_MS:.0f} ms for "
         "MRN exact, MRN prefix, name prefix and name substring", met=met,
         peak_rss_mib=peak_rss_mib(), **spread(p95[worst_kind]),
         p95_ms={k: round(statistics.median(v), 3) for k, v in p95.items()},
         cpu_p95_ms={k: round(pct(v, 95), 3) for k, v in CPU.items()},
         uncommitted_p95_ms={k: round(pct(v, 95), 3) for k, v in alone.items()},
         patients=n, database=engine.dialect.name)


if __name__ == "__main__":
    main()
