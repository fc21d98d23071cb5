"""Benchmark: does bontrack scale with worker processes, and do long reads hold anyone up?

Issue 16, items 4 and 8. On one PostgreSQL database (a new one, dropped afterwards, unless
``--db`` names one) a real ``bontrack serve`` runs with 1 and then 2 uvicorn workers. Each
runs two loads from this process (asyncio httpx clients, one keep-alive connection each):

- **timeline**: every client GETs the timeline of a seeded patient, again and again;
- **mixed**: bench/load.py's mix (patient list, timeline, plan check, cycle and outcome
  writes, /health).

Meanwhile a thread samples ``pg_stat_activity`` and ``pg_locks`` every 50 ms: connections
waiting on any lock, and on an advisory lock (what the old application-wide lock was). The
goal: 2 workers >= 1.4x the throughput of 1 on each load, and no sample with a connection
waiting on an advisory lock.

With wrk, the timeline load's CPU is measured too (``CpuMeter``): per request, the
server's processes, PostgreSQL's backends and the rest of the machine; from the 1-worker
figures, ``timeline_ceiling`` is the most 2 workers could give on this machine's cores.

Then the **long read** (item 8): with the 2-worker server, another process opens a reading
transaction as a clinic PDF or a bulk export does (snapshot taken, its read audited) and
keeps it open while reading every cycle and injection row by row, and the timeline load runs
again; the goal is a timeline p95 < 100 ms while it is open.

    python bench/scaling.py [--seconds 8] [--clients 16] [--runs 3] [--db URL] [--quick]
                            [--json]

The 1- and 2-worker runs alternate ``--runs`` times; min/median of the ratios are given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
import contextlib

import load
import wrk

ADMIN = os.environ.get("BONTRACK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

LONG_READ = """
import sys, time
from bontrack.services import audit
from bontrack.store.uow import Database
db = Database.at(sys.argv[1])
seconds = float(sys.argv[2])
with db.reading() as report:
    import sqlalchemy as sa
    s = report.session
    audit.record(s, None, "read", "report", detail="clinic report (bench)")
    stop = time.monotonic() + seconds
    rows = 0
    while time.monotonic() < stop:  # the export's batches, in one snapshot
        for table in ("cycles", "injections", "outcomes", "audit_events"):
            rows += sum(1 for _ in s.execute(sa.text(f"SELECT * FROM {table}")))
    print(rows, flush=True)
    report.commit()
db.dispose()
"""


def new_database() -> tuple[str, Any]:
    name = f"lock_scaling_{time.time_ns()}"
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def start(db: str, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = load.free_port()
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from bontrack.cli.main import run; run()", "serve",
             "--db", db, "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=fh, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                time.sleep(1.0 if workers > 1 else 0)  # every worker up
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


class LockSampler:
    """Samples lock waits of the database's other connections every ``every`` seconds."""

    def __init__(self, db: str, every: float = 0.05) -> None:
        self.engine = sa.create_engine(db, isolation_level="AUTOCOMMIT")
        self.every = every
        self.samples: list[tuple[int, int, int]] = []  # (connections, lock waits, advisory)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _run(self) -> None:
        with self.engine.connect() as c:
            while not self._stop.wait(self.every):
                row = c.execute(sa.text(
                    "SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                    "(SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory' "
                    " AND NOT l.granted AND l.database = "
                    " (SELECT oid FROM pg_database WHERE datname = current_database())) "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()")).one()
                self.samples.append((int(row[0]), int(row[1]), int(row[2])))

    def summary(self) -> dict[str, Any]:
        s = self.samples or [(0, 0, 0)]
        return {"samples": len(self.samples), "max_connections": max(x[0] for x in s),
                "max_lock_waits": max(x[1] for x in s),
                "samples_with_lock_waits": sum(1 for x in s if x[1]),
                "max_advisory_waits": max(x[2] for x in s),
                "samples_with_advisory_waits": sum(1 for x in s if x[2])}


async def timeline_load(base: str, headers: dict[str, str], seeded: list[int],
                        seconds: float, clients: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def client(k: int) -> None:
        nonlocal errors
        rng = random.Random(k)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60,
                                     limits=limits) as c:
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                try:
                    r = await c.get(f"/api/v1/patients/{rng.choice(seeded)}/timeline")
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1

    t0 = time.monotonic()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return len(latencies) / (time.monotonic() - t0), latencies, errors


def mixed_load(base: str, headers: dict[str, str], seeded: list[int], seconds: float,
               clients: int) -> tuple[float, int]:
    async def run() -> tuple[load.Stats, float]:
        stats = load.Stats()
        t0 = time.monotonic()
        await asyncio.gather(*(load.client_task(k, base, headers, seeded, t0 + seconds, stats)
                               for k in range(clients)))
        return stats, time.monotonic() - t0

    stats, took = asyncio.run(run())
    done = sum(len(v) for v in stats.latency.values())
    return done / took, sum(stats.errors.values())


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[94] * 1000 if len(xs) > 2 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", default=None, help="PostgreSQL URL (default: a new database)")
    ap.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                    help="load generator: wrk (C; bench/wrk.py) or the Python clients "
                         "(httpx); auto: wrk when installed")
    from result import add_options, emit, spread

    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.clients, args.runs = 1.5, 4, 1
        load.SEED_PATIENTS = 3
    else:
        load.SEED_PATIENTS = 10
    os.environ.setdefault("BONTRACK_MFA_REQUIRED", "off")
    db, drop = (args.db, lambda: None) if args.db else new_database()
    tmp = Path(tempfile.mkdtemp(prefix="bontrack-scaling-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        username = load.add_user(db)
        server, base = start(db, 1, tmp / "server.log")
        procs.append(server)
        tok = httpx.post(f"{base}/api/v1/auth/token", timeout=60,
                         json={"username": username, "password": load.PASSWORD}).json()
        headers = {"Authorization": f"Bearer {tok['access_token']}"}
        seeded = load.seed_patients(base, headers)
        client = args.client if args.client != "auto" else (
            "wrk" if wrk.available() else "python")
        if client == "wrk" and not wrk.available():
            raise SystemExit("--client wrk: wrk is not installed (apt-get install wrk)")
        scripts = {}
        if client == "wrk":
            writers = wrk.writer_patients(base, headers, 4 if args.quick else 80)
            scripts = {"timeline": wrk.timeline_script(headers, seeded),
                       "mixed": wrk.mixed_script(headers, seeded, writers)}
        server.terminate()
        server.wait(timeout=30)
        print(f"database {db.split(':')[0]}; {args.clients} clients x {args.seconds:.0f} s per "
              f"load; {load.SEED_PATIENTS} seeded patients; load generator {client}; "
              f"load {os.getloadavg()[0]:.1f}")
        rates: dict[str, dict[int, list[float]]] = {"timeline": {1: [], 2: []},
                                                    "mixed": {1: [], 2: []}}
        errors = 0
        locks: dict[int, dict[str, Any]] = {}
        peak = 0.0
        long_read: dict[str, Any] = {}
        cpu: dict[int, list[dict[str, float]]] = {1: [], 2: []}  # timeline, wrk only
        for run in range(args.runs):
            for workers in (1, 2):
                server, base = start(db, workers, tmp / "server.log")
                procs.append(server)
                with LockSampler(db) as sampler:
                    if client == "wrk":
                        with CpuMeter(db, server.pid) as meter:
                            got = wrk.run(base, scripts["timeline"], args.seconds,
                                          args.clients)
                            cpu[workers].append(meter.stop(got.requests))
                        rate, err = got.rate, got.errors
                        got = wrk.run(base, scripts["mixed"], args.seconds, args.clients)
                        mixed, err2 = got.rate, got.errors
                    else:
                        rate, _, err = asyncio.run(timeline_load(base, headers, seeded,
                                                                 args.seconds, args.clients))
                        mixed, err2 = mixed_load(base, headers, seeded, args.seconds,
                                                 args.clients)
                    rates["timeline"][workers].append(rate)
                    rates["mixed"][workers].append(mixed)
                errors += err + err2
                locks[workers] = sampler.summary()
                peak = max(peak, tree_rss(server.pid))
                print(f"{workers} worker(s): timeline {rate:7.1f} req/s, mixed {mixed:7.1f} "
                      f"req/s, errors {err + err2}; lock waits {locks[workers]}")
                if workers == 2 and run == args.runs - 1:
                    long_read = long_read_phase(db, base, headers, seeded, args,
                                                scripts.get("timeline"))
                server.terminate()
                server.wait(timeout=30)
        # a 1-worker run that completed nothing (a loaded machine, --quick) gives no ratio;
        # with none at all the ratio is 0: the goal is not met
        ratios = {kind: [two / one for one, two in zip(r[1], r[2], strict=True) if one > 0]
                  or [0.0] for kind, r in rates.items()}
        for kind, rs in ratios.items():
            print(f"{kind}: 2 workers / 1 worker = {statistics.median(rs):.2f} "
                  f"(min {min(rs):.2f}; goal >= 1.4)")
        print(f"long read open {long_read['seconds']:.1f} s: timeline p95 "
              f"{long_read['p95_ms']:.1f} ms over {long_read['requests']} requests "
              f"(goal < 100 ms), errors {long_read['errors']}")
        per_request = {str(w): {k: statistics.median(c[k] for c in runs) for k in runs[0]}
                       for w, runs in cpu.items() if runs}
        most = ceiling(per_request["1"], os.cpu_count() or 1) if "1" in per_request else None
        for w, c in per_request.items():
            print(f"timeline CPU per request, {w} worker(s): server {c['server_us']:.0f} us, "
                  f"PostgreSQL {c['postgres_us']:.0f} us, the rest {c['rest_us']:.0f} us; "
                  f"machine {100 * c['machine_busy']:.0f} % busy")
        if most is not None:
            print(f"timeline: with these costs {os.cpu_count()} cores allow 2 workers at most "
                  f"{most:.2f}x 1 worker")
        advisory = sum(v["samples_with_advisory_waits"] for v in locks.values())
        worst = min(statistics.median(rs) for rs in ratios.values())
        emit(args, bench="scaling", value=statistics.median(rates["timeline"][2]),
             unit="req/s (timeline, 2 workers)",
             baseline=statistics.median(rates["timeline"][1]),
             goal="2 workers >= 1.4x 1 worker (timeline and mixed); no advisory-lock wait; "
                  "timeline p95 < 100 ms during a long read",
             met=(worst >= 1.4 and advisory == 0 and errors == 0
                  and long_read["p95_ms"] < 100),
             peak_rss_mib=peak, timeline_ratio=spread(ratios["timeline"]),
             mixed_ratio=spread(ratios["mixed"]),
             rates={k: {str(w): spread(v) for w, v in r.items()} for k, r in rates.items()},
             lock_waits={str(k): v for k, v in locks.items()}, long_read=long_read,
             timeline_cpu_per_request=per_request, timeline_ceiling=most,
             errors=errors, client=client, load_avg=os.getloadavg()[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
        drop()


def long_read_phase(db: str, base: str, headers: dict[str, str], seeded: list[int],
                    args: argparse.Namespace, script: str | None) -> dict[str, Any]:
    """The timeline load while another process holds a long reading transaction open
    (driven by wrk when ``script`` is given, else by the Python clients)."""
    reader = subprocess.Popen([sys.executable, "-c", LONG_READ, db, str(args.seconds + 2)],
                              stdout=subprocess.PIPE)
    time.sleep(1.0)  # its snapshot is taken and its read audited
    t0 = time.monotonic()
    with LockSampler(db) as sampler:
        if script is not None:
            got = wrk.run(base, script, args.seconds, args.clients)
            p95_ms, requests, errors = got.p95_ms, got.requests, got.errors
        else:
            _, latencies, errors = asyncio.run(timeline_load(base, headers, seeded,
                                                             args.seconds, args.clients))
            p95_ms, requests = p95(latencies), len(latencies)
    still_open = reader.poll() is None
    reader.wait(timeout=120)
    return {"p95_ms": p95_ms, "requests": requests, "errors": errors,
            "seconds": time.monotonic() - t0, "open_throughout": still_open,
            "lock_waits": sampler.summary()}


class CpuMeter:
    """CPU spent while a load runs, per request: the server's processes (the one given and
    its workers), the database's PostgreSQL backends, and the rest of the machine (the
    load generator, the kernel, anything else running), from /proc. Why a ratio is what it
    is: with two cores, two workers can only be faster than one if one worker's own core,
    not the machine, is the limit (``ceiling``)."""

    def __init__(self, db: str, server_pid: int) -> None:
        self.db, self.pid = db, server_pid
        self.engine = sa.create_engine(db, isolation_level="AUTOCOMMIT")

    def _backends(self) -> list[int]:
        with self.engine.connect() as c:
            return [int(r[0]) for r in c.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"))]

    def __enter__(self) -> CpuMeter:
        self.before = {p: _cpu_ticks(p) for p in self._backends()}
        self.server0 = sum(_cpu_ticks(p) for p in [self.pid, *children(self.pid)])
        self.machine0 = _machine_ticks()
        return self

    def stop(self, requests: int) -> dict[str, float]:
        machine1 = _machine_ticks()
        server1 = sum(_cpu_ticks(p) for p in [self.pid, *children(self.pid)])
        pg = sum(_cpu_ticks(p) - self.before.get(p, 0) for p in self._backends())
        self.engine.dispose()
        tick = 1e6 / os.sysconf("SC_CLK_TCK")
        total = machine1[0] - self.machine0[0]
        busy = total - (machine1[1] - self.machine0[1])
        n = max(requests, 1)
        server = (server1 - self.server0) * tick / n
        postgres = pg * tick / n
        return {"server_us": round(server, 1), "postgres_us": round(postgres, 1),
                "rest_us": round(max(busy * tick / n - server - postgres, 0.0), 1),
                "machine_busy": round(busy / total, 3) if total else 0.0}

    def __exit__(self, *_: object) -> None:
        self.engine.dispose()


def ceiling(cpu: dict[str, float], cores: int) -> float:
    """The most 2 workers can give against 1 with these CPU costs per request (from the
    1-worker run): one worker is held to one core (1 / server), both by the machine's
    cores shared with PostgreSQL and the rest (cores / all three)."""
    server = max(cpu["server_us"], 1e-9)
    machine = cores * 1e6 / max(cpu["server_us"] + cpu["postgres_us"] + cpu["rest_us"], 1e-9)
    one = min(1e6 / server, machine)
    return round(min(2e6 / server, machine) / one, 3)


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


def _machine_ticks() -> tuple[int, int]:
    """(all, idle + iowait) ticks of every CPU since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def tree_rss(pid: int) -> float:
    """Peak RSS (VmHWM) of the server and its worker processes, summed, in MiB."""
    total = 0.0
    for p in [pid, *children(pid)]:
        with contextlib.suppress(OSError):
            total += load.rss_mib(p, "VmHWM")
    return total


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


if __name__ == "__main__":
    main()
