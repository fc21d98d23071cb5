"""Benchmark: GET /timeline of a patient with 20 cycles, next to a bare Starlette endpoint
returning JSON of the same size, in the same run, with the same load generator.

Both servers run as separate uvicorn processes on loopback; the load generator is wrk (in
C) when it is installed, else keep-alive connections from threads (http.client), whose own
CPU bounds the bare endpoint's figure (``--client``). Prints requests/s, p50/p99 latency, the
ratio to the bare endpoint, and the servers' peak RSS.

    python bench/api.py [--seconds 10] [--clients 8] [--runs 3] [--db sqlite:///tmp/bench.db]
                        [--client auto|wrk|python] [--quick] [--json]

The two loads alternate ``--runs`` times; figures are medians (min/median in the JSON line).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import wrk

BARE_APP = """
import json, sys
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
body = open(sys.argv[1], "rb").read()
async def timeline(request):
    return Response(body, media_type="application/json")
app = Starlette(routes=[Route("/timeline", timeline)])
import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(port: int) -> None:
    for _ in range(1200):  # a loaded machine starts a server slowly
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def seed(db: str) -> tuple[int, str]:
    """A clinic, a clinician and one patient with 20 signed cycles; returns (id, token)."""
    from fastapi.testclient import TestClient

    from bontrack.api.app import create_app
    from bontrack.reference import default_reference
    from bontrack.services import accounts
    from bontrack.services.records import create_patient
    from bontrack.services.schemas import PatientIn
    from bontrack.store.db import make_engine, session_factory, transaction
    from bontrack.store.migrate import upgrade
    from bontrack.store.uow import Database

    os.environ.setdefault("BONTRACK_MFA_REQUIRED", "off")  # a bench account, password only
    engine = make_engine(db)
    upgrade(engine)
    with transaction(session_factory(engine)) as s:
        clinic = accounts.get_or_create_clinic(s, "Bench clinic")
        user = accounts.add_user(s, clinic=clinic, username=f"bench{time.time_ns()}",
                                 password="bench password 123", role="clinician")
        p = create_patient(s, accounts.actor_of(user),
                           PatientIn(mrn=f"B{time.time_ns()}", display_name="Bench Patient",
                                     birth_date=date(1960, 1, 1), weight_kg=75),
                           default_reference())
        s.flush()
        pid, username = p.id, user.username
    app = create_app(db, database=Database(engine))
    with TestClient(app) as c:
        tok = c.post("/api/v1/auth/token", json={"username": username,
                                                  "password": "bench password 123"}).json()
        h = {"Authorization": f"Bearer {tok['access_token']}"}
        for k in range(20):
            day = date(2020, 1, 6) + timedelta(days=100 * k)
            body = {"date": day.isoformat(), "product": "onabotulinumtoxinA",
                    "indication": "upper_limb_spasticity", "consent_recorded": True,
                    "injections": [
                        {"muscle": "biceps_brachii", "side": "left", "units": 100, "sites": 3},
                        {"muscle": "brachioradialis", "side": "left", "units": 50, "sites": 2},
                        {"muscle": "brachialis", "side": "left", "units": 40, "sites": 1}],
                    "vials": [{"size_units": 200, "diluent_ml": 4, "lot": f"L{k}"}]}
            r = c.post(f"/api/v1/patients/{pid}/cycles", json=body, headers=h)
            assert r.status_code == 201, r.text
            for days, value in ((-1, "3"), (42, "1+"), (84, "2")):
                c.post(f"/api/v1/patients/{pid}/outcomes", headers=h, json={
                    "scale": "modified_ashworth", "value": value, "muscle": "biceps_brachii",
                    "side": "left", "cycle_id": r.json()["id"],
                    "measured_at": f"{(day + timedelta(days=days)).isoformat()}T10:00:00Z"})
    engine.dispose()
    return pid, tok["access_token"]


def load(port: int, path: str, headers: dict[str, str], seconds: float, clients: int
         ) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.monotonic() - start), latencies, errors


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] * 1000 if len(xs) > 2 else float("nan")


def pick_client(asked: str) -> str:
    """``wrk`` (a load generator in C) when asked or, for ``auto``, when installed: with
    Python's threads the bare endpoint measured the client (8 threads on one interpreter
    took 220 us of CPU per request against the bare server's 40); else ``python``."""
    if asked == "wrk" and not wrk.available():
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if asked == "auto":
        return "wrk" if wrk.available() else "python"
    return asked


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--db", default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                    help="load generator (auto: wrk when installed)")
    from result import add_options, emit, spread

    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.clients, args.runs = 0.5, 2, 2
    tmp = Path(tempfile.mkdtemp())
    db = args.db or f"sqlite:///{tmp / 'bench.db'}"
    pid, token = seed(db)
    api_port, bare_port = free_port(), free_port()
    api = subprocess.Popen([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                            "serve", "--db", db, "--port", str(api_port)],
                           stdout=subprocess.DEVNULL)
    wait(api_port)
    headers = {"Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", api_port)
    conn.request("GET", f"/api/v1/patients/{pid}/timeline", headers=headers)
    body = conn.getresponse().read()
    conn.close()
    (tmp / "body.json").write_bytes(body)
    events = len(json.loads(body)["events"])
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(tmp / "body.json"),
                             str(bare_port)])
    wait(bare_port)
    try:
        print(f"timeline: {len(body):,} bytes, {events} events (20 cycles); "
              f"{args.clients} clients x {args.seconds:.0f} s each; database {db.split(':')[0]}")
        client = pick_client(args.client)
        print(f"load generator: {client}")
        b_rates, a_rates, b_lat, a_lat, b_err, a_err = [], [], [], [], 0, 0
        b_tail, a_tail = [], []  # wrk: p50 and p95 of each run
        if client == "wrk" and not args.quick:  # both warmed alike, not counted: the first
            for port, path, hdrs in ((bare_port, "/timeline", {}),  # run was the slowest
                                     (api_port, f"/api/v1/patients/{pid}/timeline", headers)):
                wrk.run(f"http://127.0.0.1:{port}", wrk.paths_script(hdrs, [path]),
                        min(args.seconds, 2.0), args.clients)
        for _ in range(args.runs):  # alternate, so both see the same machine load
            for port, path, hdrs, rates, lats, tails in (
                    (bare_port, "/timeline", {}, b_rates, b_lat, b_tail),
                    (api_port, f"/api/v1/patients/{pid}/timeline", headers, a_rates, a_lat,
                     a_tail)):
                if client == "wrk":
                    got = wrk.run(f"http://127.0.0.1:{port}",
                                  wrk.paths_script(hdrs, [path]), args.seconds, args.clients)
                    rates.append(got.rate)
                    print(f"  {'bare' if port == bare_port else 'bontrack'}: "
                          f"{got.rate:,.0f} req/s", flush=True)
                    tails.append((got.p50_ms, got.p95_ms))
                    err = got.errors
                else:
                    rate, lat, err = load(port, path, hdrs, args.seconds, args.clients)
                    rates.append(rate)
                    lats += lat
                if port == bare_port:
                    b_err += err
                else:
                    a_err += err
        b_rate, a_rate = statistics.median(b_rates), statistics.median(a_rates)
        for name, rate, lats, tails, err in (
                ("bare Starlette, same JSON:", b_rate, b_lat, b_tail, b_err),
                ("bontrack GET /timeline:   ", a_rate, a_lat, a_tail, a_err)):
            if tails:
                tail = (f"p50 {statistics.median(t[0] for t in tails):6.1f} ms  p95 "
                        f"{statistics.median(t[1] for t in tails):6.1f} ms")
            else:
                tail = f"p50 {pct(lats, 50):6.1f} ms  p99 {pct(lats, 99):6.1f} ms"
            print(f"{name} {rate:8.1f} req/s  {tail}  errors {err}")
        goal = 0.35 if db.startswith("postgresql") else 0.5  # issue 16, item 2
        print(f"ratio to bare: {a_rate / b_rate:.2f} (goal >= {goal:.2f}; medians of "
              f"{args.runs}); load average {os.getloadavg()[0]:.1f}")
        peak = rss_mib(api.pid)
        print(f"peak RSS: bontrack server {peak:.1f} MiB, bare server "
              f"{rss_mib(bare.pid):.1f} MiB")
        emit(args, bench="api", value=a_rate, unit="req/s (GET /timeline)", baseline=b_rate,
             goal=f">= {goal:.2f} of the bare endpoint's req/s, no errors",
             met=a_rate / b_rate >= goal and a_err == 0, peak_rss_mib=peak, **spread(a_rates),
             baseline_runs=spread(b_rates), errors=a_err,
             ratios=spread([a / b for a, b in zip(a_rates, b_rates, strict=True)]),
             database=db.split(":")[0], client=client, load_avg=os.getloadavg()[0])
    finally:
        for p in (api, bare):
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
