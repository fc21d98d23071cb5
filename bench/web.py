"""Benchmark: the patient page and the live plan check of the planning screen, on demo data.

Starts `bontrack serve` on a demo database, signs in through the web form, then times
sequential requests (one client, so the figure is the server's time plus loopback): the
patient page of every demo patient in turn, and a live plan check (a 6-muscle plan). The
baseline in the same run is GET /health. Prints p50/p95 in ms, the ratio to the baseline,
and the server's peak RSS. Goal (issue 5): p95 under 100 ms for both.

    python bench/web.py [--patients 40] [--requests 300]
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
    return statistics.quantiles(xs, n=100)[q - 1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=40)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
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
            health = timed(c, "GET", "/health", n)
            ids = [i % args.patients + 1 for i in range(n)]
            page_times = []
            for pid in ids:
                page_times += timed(c, "GET", f"/patients/{pid}", 1)
            plan = {"date": "2027-03-01", "product": "onabotulinumtoxinA",
                    "indication": "upper_limb_spasticity", "weight_kg": "70",
                    "muscle": ["biceps_brachii", "brachialis", "brachioradialis",
                               "flexor_carpi_radialis", "flexor_carpi_ulnaris",
                               "flexor_digitorum_superficialis"],
                    "side": ["left"] * 6, "units": ["80", "40", "50", "30", "30", "40"],
                    "sites": ["3", "2", "2", "1", "1", "2"], "guidance": [""] * 6,
                    "vial_size": ["200", "100"], "vial_diluent": ["4", "2"],
                    "vial_lot": ["A1", "A2"], "vial_expiry": ["2027-12-31"] * 2,
                    "vial_reconstituted_at": ["", ""]}
            check_times = timed(c, "POST", "/patients/1/cycles/check", n, data=plan)
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
        print(f"{args.patients} demo patients; {n} sequential requests each; SQLite")
        for name, xs in rows:
            print(f"{name:<24} p50 {p(xs, 50):7.1f} ms   p95 {p(xs, 95):7.1f} ms   "
                  f"ratio p95 to baseline {p(xs, 95) / p(health, 95):6.1f}")
        ok = p(page_times, 95) < 100 and p(check_times, 95) < 100
        print(f"goal p95 < 100 ms for the patient page and the live check: "
              f"{'met' if ok else 'NOT met'}")
        print(f"server peak RSS {rss_mib(server.pid):.1f} MiB")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
