"""Benchmark: the patient page and the live plan check of the planning screen, on demo data.

Starts `bontrack serve` on a demo database, signs in through the web form, then times
sequential requests (one client, so the figure is the server's time plus loopback): the
patient page of every demo patient in turn, and a live plan check (a 6-muscle plan). The
baseline in the same run is GET /health. Prints p50/p95 in ms, the ratio to the baseline,
and the server's peak RSS. Goal (issue 5): p95 under 100 ms for both. The sequences are
repeated ``--runs`` times; the JSON line (``--json``) gives the median and min of the
patient page's p95 per run (bench/result.py).

    python bench/web.py [--patients 40] [--requests 300] [--runs 3] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from api import free_port, rss_mib, wait
from result import add_options, emit, spread


def timed(client: httpx.Client, method: str, url: str, n: int, **kw: object) -> list[float]:
    out = []
    for i in range(n):
        target = url.format(i=i) if "{i}" in url else url
        t0 = time.perf_counter()
        r = client.request(method, target, **kw)  # type: ignore[arg-type]
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{method} {target}: {r.status_code} {r.text[:200]}")
    return out


def p(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] if len(xs) > 1 else xs[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=40)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.patients, args.requests, args.runs = 3, 10, 2
    tmp = Path(tempfile.mkdtemp())
    db = f"sqlite:///{tmp / 'web.db'}"
    out = subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                          "demo", "--patients", str(args.patients), "--no-serve", "--db", db],
                         capture_output=True, text=True, check=True).stdout
    password = next(line.split()[2] for line in out.splitlines()
                    if line.strip().startswith("dr.lee"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c",
                               "from bontrack.cli.main import run; run()", "serve", "--db", db,
                               "--port", str(port)], stdout=subprocess.DEVNULL)
    wait(port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            c.get("/login")
            c.post("/login", data={"username": "dr.lee", "password": password,
                                   "csrf": c.cookies["bt_csrf"]})
            n = args.requests
            plan = {"date": "2027-03-01", "product": "onabotulinumtoxinA",
                    "indication": "upper_limb_spasticity", "weight_kg": "70",
                    "muscle": ["biceps_brachii", "brachialis", "brachioradialis",
                               "flexor_carpi_radialis", "flexor_carpi_ulnaris",
                               "flexor_digitorum_superficialis"],
                    "side": ["left"] * 6, "units": ["80", "40", "50", "30", "30", "40"],
                    "sites": ["3", "2", "2", "1", "1", "2"], "guidance": [""] * 6,
                    "vial_size": ["200", "100"], "vial_diluent": ["4", "2"],
                    "vial_lot": ["A1", "A2"], "vial_expiry": ["2027-12-31"] * 2,
                    "vial_reconstituted_at": ["", ""],
                    "csrf": c.cookies["bt_csrf"]}  # the form's CSRF field, as the page sends
            health: list[float] = []
            page_times: list[float] = []
            check_times: list[float] = []
            page_p95s, check_p95s, health_p95s = [], [], []
            for _ in range(args.runs):
                h = timed(c, "GET", "/health", n)
                pages: list[float] = []
                for pid in (i % args.patients + 1 for i in range(n)):
                    pages += timed(c, "GET", f"/patients/{pid}", 1)
                checks = timed(c, "POST", "/patients/1/cycles/check", n, data=plan)
                health += h
                page_times += pages
                check_times += checks
                health_p95s.append(p(h, 95))
                page_p95s.append(p(pages, 95))
                check_p95s.append(p(checks, 95))
            cold, warm = [], []
            for pid in range(1, args.patients + 1):
                page = c.get(f"/patients/{pid}").text
                marker = f"/patients/{pid}/chart.svg?"
                if marker not in page:
                    continue
                url = page[page.index(marker):].split('"', 1)[0].replace("&amp;", "&")
                cold += timed(c, "GET", url, 1)
                warm += timed(c, "GET", url, 1)
        rows = (("GET /health (baseline)", health), ("patient page", page_times),
                ("live plan check", check_times), ("chart SVG, first render", cold),
                ("chart SVG, cached", warm))
        print(f"{args.patients} demo patients; {n} sequential requests each, {args.runs} "
              "runs; SQLite")
        for name, xs in rows:
            if not xs:
                continue
            print(f"{name:<24} p50 {p(xs, 50):7.1f} ms   p95 {p(xs, 95):7.1f} ms   "
                  f"ratio p95 to baseline {p(xs, 95) / p(health, 95):6.1f}")
        page95 = statistics.median(page_p95s)
        check95 = statistics.median(check_p95s)
        ok = page95 < 100 and check95 < 100
        print(f"goal p95 < 100 ms for the patient page and the live check: "
              f"{'met' if ok else 'NOT met'}")
        peak = rss_mib(server.pid)
        print(f"server peak RSS {peak:.1f} MiB")
        emit(args, bench="web", value=page95, unit="ms (patient page p95)",
             baseline=statistics.median(health_p95s), goal="p95 < 100 ms for the patient "
             "page and the live plan check", met=ok, peak_rss_mib=peak, **spread(page_p95s),
             live_check_p95_ms=spread(check_p95s))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
