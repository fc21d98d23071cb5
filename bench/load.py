"""Load run: many concurrent clients against a real bontrack server process on loopback,
with a mix of reads, plan checks and writes, for a bounded time.

Kinds of request (weights in ``MIX``): the patient list, a patient's timeline, the plan
check (``POST /api/v1/plan-check``), recording a cycle, recording an outcome, and
``GET /health`` as the baseline measured in the same run. Each client is an asyncio task
with its own keep-alive connection (httpx); each writes cycles and outcomes to a patient of
its own (cycles 90 days apart, so the plan check passes).

Prints requests, errors (anything but 2xx, or a broken connection), p50/p95/p99 per kind and
the ratio of each p50 to the baseline's p50, throughput, and the server's RSS sampled every
few seconds: start, middle, end, the mean of the first and of the last minute (or fifth of
the run, if shorter) and the slope of a least-squares line through the second half.

    python bench/load.py [--seconds 300] [--clients 50] [--db sqlite:////tmp/load.db]
                         [--out figures.json] [--quick] [--json]

The JSON line (``--json``, bench/result.py): the slowest kind's p95 against the baseline's
p95; met when no request failed and memory stayed flat (last/first window < 1.25). One run:
a load run is itself thousands of requests, so there is no min/median of runs.
                         [--json figures.json]

Exit status 1 if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "load test password 1"
MIX = {"patient list": 20, "timeline": 25, "plan check": 20, "cycle write": 10,
       "outcome write": 15, "health (baseline)": 10}
SEED_PATIENTS = 20
SAMPLE_EVERY = 2.0  # seconds between RSS samples

PLAN = {"date": "2026-11-24", "patient": {"age_years": 52, "weight_kg": 78},
        "product": "Botox", "indication": "upper_limb_spasticity",
        "injections": [
            {"muscle": "biceps_brachii", "side": "left", "units": 100, "sites": 3},
            {"muscle": "brachioradialis", "side": "left", "units": 50, "sites": 2},
            {"muscle": "flexor_carpi_radialis", "side": "left", "units": 40, "sites": 2}],
        "vials": [{"size_units": 200, "diluent_ml": 4}]}


def cycle_body(day: date) -> dict[str, Any]:
    return {"date": day.isoformat(), "product": "onabotulinumtoxinA",
            "indication": "upper_limb_spasticity", "consent_recorded": True,
            "consent_text": "Benefits and risks discussed.",
            "injections": [
                {"muscle": "biceps_brachii", "side": "left", "units": 100, "sites": 3},
                {"muscle": "brachioradialis", "side": "left", "units": 50, "sites": 2}],
            "vials": [{"size_units": 200, "diluent_ml": 4, "lot": "L1",
                       "expiry": "2030-01-31"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def add_user(db: str) -> str:
    """Migrate the database and add a clinic and a clinician; returns the username."""
    from bontrack.services import accounts
    from bontrack.store.db import make_engine, session_factory, transaction
    from bontrack.store.migrate import upgrade

    engine = make_engine(db)
    upgrade(engine)
    username = f"load{time.time_ns()}"
    with transaction(session_factory(engine)) as s:
        clinic = accounts.get_or_create_clinic(s, "Load clinic")
        accounts.add_user(s, clinic=clinic, username=username, password=PASSWORD,
                          role="clinician")
    engine.dispose()
    return username


def start_server(db: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from bontrack.cli.main import run; run()", "serve",
             "--db", db, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=fh,
            env=dict(os.environ))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def writer_patient(tag: str) -> dict[str, Any]:
    """A new patient for a client to write cycles and outcomes to (born 1930, so 70 years of
    cycles 90 days apart stay in the past)."""
    return {"mrn": f"{tag}-{time.time_ns()}", "display_name": f"Load Writer {tag}",
            "birth_date": "1930-01-01", "sex": "male", "weight_kg": 80}


def seed_patients(base: str, headers: dict[str, str]) -> list[int]:
    """Patients with four cycles and eight outcomes each: what the timeline reads."""
    ids = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        for k in range(SEED_PATIENTS):
            r = c.post("/api/v1/patients", json={
                "mrn": f"S-{k}-{time.time_ns()}", "display_name": f"Load Seed {k}",
                "birth_date": "1960-01-01", "sex": "female", "weight_kg": 70})
            r.raise_for_status()
            pid = r.json()["id"]
            for j in range(4):
                day = date(2024, 1, 8) + timedelta(days=100 * j)
                r = c.post(f"/api/v1/patients/{pid}/cycles", json=cycle_body(day))
                r.raise_for_status()
                for days, value in ((-1, "3"), (42, "1+")):
                    c.post(f"/api/v1/patients/{pid}/outcomes", json={
                        "scale": "modified_ashworth", "value": value,
                        "muscle": "biceps_brachii", "side": "left",
                        "cycle_id": r.json()["id"],
                        "measured_at": f"{day + timedelta(days=days)}T10:00:00Z",
                    }).raise_for_status()
            ids.append(pid)
    return ids


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{kind}: {what}")


async def client_task(k: int, base: str, headers: dict[str, str], seeded: list[int],
                      stop_at: float, stats: Stats) -> None:
    rng = random.Random(k)
    kinds, weights = list(MIX), list(MIX.values())
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60,
                                 limits=limits) as c:
        r = await c.post("/api/v1/patients", json=writer_patient(f"W-{k}"))
        r.raise_for_status()
        own = r.json()["id"]
        step = 0
        while time.monotonic() < stop_at:
            kind = rng.choices(kinds, weights)[0]
            t0 = time.perf_counter()
            try:
                if kind == "patient list":
                    r = await c.get("/api/v1/patients", params={"limit": 50})
                elif kind == "timeline":
                    r = await c.get(f"/api/v1/patients/{rng.choice(seeded)}/timeline")
                elif kind == "plan check":
                    r = await c.post("/api/v1/plan-check", json=PLAN)
                elif kind == "cycle write":
                    if step >= 280:  # 70 years of cycles: move on to a new patient
                        r = await c.post("/api/v1/patients",
                                         json=writer_patient(f"W-{k}"))
                        own, step = r.json()["id"], 0
                        t0 = time.perf_counter()
                    day = date(1950, 1, 2) + timedelta(days=90 * step)
                    step += 1
                    r = await c.post(f"/api/v1/patients/{own}/cycles", json=cycle_body(day))
                elif kind == "outcome write":
                    r = await c.post(f"/api/v1/patients/{own}/outcomes", json={
                        "scale": "pain_nrs", "value": str(rng.randint(0, 10)),
                        "measured_at": "2026-11-20T09:30:00Z"})
                else:
                    r = await c.get("/health")
            except httpx.HTTPError as err:
                stats.error(kind, f"{type(err).__name__}: {err}")
                continue
            elapsed = time.perf_counter() - t0
            if r.status_code >= 300:
                stats.error(kind, f"{r.status_code} {r.text[:200]}")
            else:
                stats.latency[kind].append(elapsed)


async def sample_rss(pid: int, stop_at: float, t_start: float,
                     samples: list[tuple[float, float]]) -> None:
    while time.monotonic() < stop_at:
        samples.append((time.monotonic() - t_start, rss_mib(pid)))
        await asyncio.sleep(SAMPLE_EVERY)
    samples.append((time.monotonic() - t_start, rss_mib(pid)))


async def drive(base: str, headers: dict[str, str], seeded: list[int], pid: int,
                seconds: float, clients: int) -> tuple[Stats, list[tuple[float, float]], float]:
    stats = Stats()
    samples: list[tuple[float, float]] = []
    t_start = time.monotonic()
    stop_at = t_start + seconds
    await asyncio.gather(
        sample_rss(pid, stop_at, t_start, samples),
        *(client_task(k, base, headers, seeded, stop_at, stats) for k in range(clients)))
    took = time.monotonic() - t_start
    await top_up_baseline(base, stats)
    return stats, samples, took


async def top_up_baseline(base: str, stats: Stats) -> None:
    """A short run on a slow machine can end with fewer than three baseline requests, and
    the ratio would have no denominator: time a few more ``GET /health`` after the load."""
    baseline = stats.latency["health (baseline)"]
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        while len(baseline) < 3:
            t0 = time.perf_counter()
            r = await c.get("/health")
            if r.status_code < 300:
                baseline.append(time.perf_counter() - t0)
            else:
                stats.error("health (baseline)", f"{r.status_code} {r.text[:200]}")
                return


def pct(xs: list[float], q: int) -> float:
    if len(xs) < 3:
        return float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] * 1000


def slope_mib_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return float("nan")
    ts, ys = [t for t, _ in samples], [y for _, y in samples]
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    den = sum((t - mt) ** 2 for t in ts)
    return 60 * sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / den


def report(stats: Stats, samples: list[tuple[float, float]], took: float, pid: int
           ) -> dict[str, Any]:
    total = sum(len(v) for v in stats.latency.values())
    errors = sum(stats.errors.values())
    base_p50 = pct(stats.latency["health (baseline)"], 50)
    kinds: dict[str, Any] = {}
    print(f"{'kind':<18} {'requests':>9} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'p50/baseline':>12}")
    for kind in MIX:
        xs = stats.latency[kind]
        fig = {"requests": len(xs), "errors": stats.errors[kind], "p50_ms": pct(xs, 50),
               "p95_ms": pct(xs, 95), "p99_ms": pct(xs, 99)}
        kinds[kind] = fig
        print(f"{kind:<18} {len(xs):>9} {stats.errors[kind]:>6} {fig['p50_ms']:>8.1f} "
              f"{fig['p95_ms']:>8.1f} {fig['p99_ms']:>8.1f} {fig['p50_ms'] / base_p50:>12.1f}")
    window = min(60.0, took / 5)
    first = [y for t, y in samples if t <= window]
    last = [y for t, y in samples if t >= took - window]
    second_half = [(t, y) for t, y in samples if t >= took / 2]
    mid = samples[len(samples) // 2][1]
    memory = {"start_mib": samples[0][1], "middle_mib": mid, "end_mib": samples[-1][1],
              "peak_mib": rss_mib(pid, "VmHWM"), "window_s": window,
              "first_window_mean_mib": statistics.fmean(first),
              "last_window_mean_mib": statistics.fmean(last),
              "last_to_first_ratio": statistics.fmean(last) / statistics.fmean(first),
              "second_half_slope_mib_per_min": slope_mib_per_min(second_half)}
    print(f"requests {total + errors}, errors {errors}, {took:.0f} s, throughput "
          f"{total / took:.1f} req/s")
    print(f"server RSS MiB: start {memory['start_mib']:.1f}, middle {mid:.1f}, end "
          f"{memory['end_mib']:.1f}, peak {memory['peak_mib']:.1f}; mean of first "
          f"{window:.0f} s {memory['first_window_mean_mib']:.1f}, of last {window:.0f} s "
          f"{memory['last_window_mean_mib']:.1f} (ratio {memory['last_to_first_ratio']:.3f});"
          f" slope over the second half {memory['second_half_slope_mib_per_min']:+.2f} MiB/min")
    for line in stats.examples:
        print("  error:", line)
    return {"requests": total + errors, "errors": errors, "seconds": took,
            "throughput_rps": total / took, "kinds": kinds, "memory": memory,
            "error_examples": stats.examples}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures here")
    sys.path.insert(0, str(Path(__file__).parent))
    from result import add_options, emit

    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        global SEED_PATIENTS
        args.seconds, args.clients, SEED_PATIENTS = 3, 3, 3
    os.environ.setdefault("BONTRACK_MFA_REQUIRED", "off")  # a bench account, password only
    tmp = Path(tempfile.mkdtemp(prefix="bontrack-load-"))
    db = args.db or f"sqlite:///{tmp / 'load.db'}"
    username = add_user(db)
    port = free_port()
    server = start_server(db, port, tmp / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        tok = httpx.post(f"{base}/api/v1/auth/token", timeout=60,
                         json={"username": username, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {tok['access_token']}"}
        seeded = seed_patients(base, headers)
        print(f"database {db.split(':')[0]}; {args.clients} clients x {args.seconds:.0f} s; "
              f"{SEED_PATIENTS} seeded patients (4 cycles, 8 outcomes each); mix {MIX}")
        stats, samples, took = asyncio.run(
            drive(base, headers, seeded, server.pid, args.seconds, args.clients))
        figures = report(stats, samples, took, server.pid)
        figures.update(database=db.split(":")[0], clients=args.clients)
        if server.poll() is not None:
            figures["errors"] += 1
            print("the server exited during the run")
        log = (tmp / "server.log").read_text(errors="replace")
        if "Traceback" in log:
            print("server log shows a traceback:\n", log[-3000:])
            figures["errors"] += 1
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))
    kinds = figures["kinds"]
    # a kind with fewer than three requests has no p95 (NaN): the worst is among the measured
    measured = [k for k in kinds
                if k != "health (baseline)" and not math.isnan(kinds[k]["p95_ms"])]
    worst = max(measured or ["health (baseline)"], key=lambda k: kinds[k]["p95_ms"])
    memory = figures["memory"]
    emit(args, bench="load", value=kinds[worst]["p95_ms"], unit=f"ms (p95 of {worst})",
         baseline=kinds["health (baseline)"]["p95_ms"],
         goal="no failed request; memory flat (last/first window mean < 1.25)",
         met=figures["errors"] == 0 and memory["last_to_first_ratio"] < 1.25,
         peak_rss_mib=memory["peak_mib"], errors=figures["errors"],
         requests=figures["requests"], throughput_rps=figures["throughput_rps"],
         clients=args.clients, seconds=args.seconds)
    sys.exit(1 if figures["errors"] else 0)


if __name__ == "__main__":
    main()
