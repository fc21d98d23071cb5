"""Benchmark: building the demo registry (`bontrack demo --patients N`), next to merely
inserting the same rows.

Builds N synthetic patients into a new database with the demo generator (every cycle drawn,
checked by the plan check with its history, then written in batches with its audit events
chained), timing wall and CPU. The baseline in the same run copies the very rows just made,
table by table, into a second new database with the driver's plain ``executemany`` (no
generation, no checks, no ORM), committing every 25,000 rows; the ratio says what drawing and
checking the data costs over storing it. Prints patients/s, injections/s, wall and CPU time
(CPU of the worker processes included: on a busy machine wall time says more about the
neighbours), resident memory after the first batch and at the end, and peak RSS.

    python bench/demo.py [--patients 10000] [--workers N] [--db postgresql+psycopg://...]
    python bench/demo.py --quick --json     # tiny sizes; last line JSON (bench/result.py)

``--runs N`` repeats build and baseline N times (default 1: a full build takes minutes);
the JSON line gives patients/s (median, min) against the baseline's rows/s turned into the
same unit (the baseline's patients/s: the same patients' rows inserted plainly).

With ``--db`` pointing at a PostgreSQL server, two scratch databases are created there and
dropped afterwards; without it, two SQLite files in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from psycopg.types.json import Json

from bontrack.demo import generator as demo
from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database

#: Copied by the baseline, parents first; clinics and users are set up untimed.
TABLES = ("patients", "conditions", "goals", "weights", "cycles", "injections", "vials",
          "cycle_findings", "outcomes", "side_effects", "diary_entries", "audit_events")
COMMIT_EVERY = 25_000


def rss_now_mib() -> float:
    """Resident memory now (Linux), in MiB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return float("nan")
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def scratch_databases(server: str | None) -> Iterator[tuple[str, str]]:
    """Two new empty databases (demo, baseline), removed afterwards."""
    if server is None or server.startswith("sqlite"):
        tmp = Path(tempfile.mkdtemp(prefix="bench-demo-"))
        try:
            yield f"sqlite:///{tmp / 'demo.db'}", f"sqlite:///{tmp / 'baseline.db'}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    names = [f"bench_demo_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as c:
        for name in names:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(server)
    try:
        yield tuple(url.set(database=n).render_as_string(hide_password=False)  # type: ignore[misc]
                    for n in names)
    finally:
        with admin.connect() as c:
            for name in names:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def build(url: str, patients: int, seed: int, workers: int
          ) -> tuple[demo.Summary, float, float, list[float]]:
    """The demo run: (summary, wall seconds, CPU seconds of this process and its workers,
    RSS samples after each batch)."""
    engine = make_engine(url)
    upgrade(engine)
    samples: list[float] = []
    wall, cpu = time.perf_counter(), _cpu()
    summary = demo.generate(Database(engine), patients=patients, seed=seed,
                            workers=workers, on_batch=lambda n: samples.append(rss_now_mib()))
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    engine.dispose()
    return summary, wall, cpu, samples


def _cpu() -> float:
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def copy_rows(source: str, target: str) -> tuple[int, float]:
    """The baseline: (rows, seconds spent inserting and committing them)."""
    src, dst = sa.create_engine(source), make_engine(target)
    upgrade(dst)
    rows, spent = 0, 0.0
    with src.connect() as s, dst.connect() as d:
        read = s.connection.driver_connection.cursor()  # type: ignore[union-attr]
        write = d.connection.driver_connection.cursor()  # type: ignore[union-attr]
        mark = "?" if dst.dialect.name == "sqlite" else "%s"
        _setup(read, write, mark)
        d.connection.driver_connection.commit()  # type: ignore[union-attr]
        for table in TABLES:
            read.execute(f"SELECT * FROM {table} ORDER BY id")
            columns = [c[0] for c in read.description]
            quoted = ", ".join(f'"{c}"' for c in columns)
            sql = (f"INSERT INTO {table} ({quoted}) "
                   f"VALUES ({', '.join([mark] * len(columns))})")
            while chunk := read.fetchmany(COMMIT_EVERY):
                if dst.dialect.name == "postgresql":  # JSON values come back as lists
                    chunk = [tuple(Json(v) if isinstance(v, list | dict) else v for v in r)
                             for r in chunk]
                t0 = time.perf_counter()
                if dst.dialect.name == "sqlite":
                    write.execute("BEGIN IMMEDIATE")
                write.executemany(sql, chunk)
                d.connection.driver_connection.commit()  # type: ignore[union-attr]
                spent += time.perf_counter() - t0
                rows += len(chunk)
    src.dispose()
    dst.dispose()
    return rows, spent


def _setup(read: object, write: object, mark: str) -> None:
    """Clinics and users, untimed (users without their patient link: patients come later)."""
    for table in ("clinics", "users"):
        read.execute(f"SELECT * FROM {table} ORDER BY id")  # type: ignore[attr-defined]
        columns = [c[0] for c in read.description]  # type: ignore[attr-defined]
        data = [dict(zip(columns, r, strict=True)) for r in read.fetchall()]  # type: ignore[attr-defined]
        for row in data:
            row.pop("patient_id", None)
        if data:
            names = list(data[0])
            write.executemany(  # type: ignore[attr-defined]
                f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                f"({', '.join([mark] * len(names))})", [tuple(r.values()) for r in data])


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:10,.0f}/s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--db", help="a PostgreSQL server URL (scratch databases are made there)")
    ap.add_argument("--workers", type=int, help="drawing processes (default: as the CLI)")
    ap.add_argument("--runs", type=int, default=1)
    sys.path.insert(0, str(Path(__file__).parent))
    from result import add_options, emit, spread

    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.patients, args.runs, args.workers = 8, 2, 0
    workers = demo.default_workers(args.patients) if args.workers is None else args.workers
    report: Callable[[str], None] = print
    rates, base_rates = [], []
    for _ in range(args.runs):
        with scratch_databases(args.db) as (demo_url, baseline_url):
            kind = sa.engine.make_url(demo_url).get_backend_name()
            summary, wall, cpu, samples = build(demo_url, args.patients, args.seed, workers)
            peak = peak_rss_mib()
            rows, spent = copy_rows(demo_url, baseline_url)
        rates.append(summary.patients / wall)
        base_rates.append(summary.patients / spent)
    report(f"demo registry on {kind}: {summary.patients:,} patients, {summary.cycles:,} "
           f"cycles, {summary.injections:,} injections, {summary.outcomes:,} outcomes, "
           f"{rows:,} rows in all; batches of {demo.BATCH} patients, {workers} drawing "
           f"process(es) besides the writer, {os.cpu_count()} CPUs")
    report(f"demo build:     wall {wall:8.1f} s  CPU {cpu:8.1f} s   patients "
           f"{rate(summary.patients, wall)}  injections {rate(summary.injections, wall)}  "
           f"rows {rate(rows, wall)}")
    report(f"baseline, plain executemany of the same rows: {spent:8.1f} s   rows "
           f"{rate(rows, spent)}")
    report(f"ratio demo build / baseline: {wall / spent:.1f}")
    first = samples[0] if samples else float("nan")
    report(f"RSS after the first batch {first:.1f} MiB, after the last {samples[-1]:.1f} MiB; "
           f"peak RSS of the build {peak:.1f} MiB")
    if args.runs > 1:
        report(f"patients/s over {args.runs} runs: median {statistics.median(rates):,.0f}, "
               f"min {min(rates):,.0f}")
    value = statistics.median(rates)
    emit(args, bench="demo", value=value, unit="patients/s (demo build)",
         baseline=statistics.median(base_rates),
         goal="100,000 patients within 10 minutes (>= 167 patients/s)", met=value >= 167,
         peak_rss_mib=peak, **spread(rates), database=kind, patients=summary.patients)


if __name__ == "__main__":
    main()
