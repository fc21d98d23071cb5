"""Benchmark: plan checks per second on one core, from the plan's bytes to the result's.

A realistic 10-muscle adult upper-limb plan (BOTOX, two vials, history of three cycles, two
medications) goes the whole way in a loop, pinned to one CPU: the JSON bytes decoded
(``loads_json_fast``), read into a Plan, checked (``check_plan``: the result object) and the
result written as JSON bytes (``result_json``). Issue 16's goal: >= 20,000 a second.

Measured side by side in the same run, alternating so that each sees the same load:

- ``value``: the whole way, plans per second of CPU time on one core (process CPU time: the
  time the loop ran, not the time it waited while other programs had the core; the wall
  clock rate is reported too);
- ``baseline``: the floor under any checker: orjson decoding the same plan and encoding the
  same result document, with nothing checked (so ``ratio`` = what the checking costs);
- ``json_route``: the route before issue 16 (``json.loads`` with the duplicate-key hook,
  ``read_plan``, ``check_plan``, ``result_dict``, ``json.dumps``), on today's rules.

Then microseconds per plan: bytes to the result object as one, and each stage alone
(decode, read, check, result to JSON bytes).

    python bench/plan_check.py [--seconds 2] [--runs 3] [--quick] [--json]

Figures are min / median of ``--runs`` runs (see bench/result.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bontrack.clinical.check import check_plan
from bontrack.clinical.plan import read_plan
from bontrack.clinical.result import result_dict, result_json
from bontrack.documents import loads_json, loads_json_fast
from bontrack.reference import default_reference

sys.path.insert(0, str(Path(__file__).parent))
from result import add_options, emit, peak_rss_mib, spread

GOAL = 20_000  # plan checks per second on one core, bytes to result to bytes

PLAN: dict[str, Any] = {
    "date": "2026-11-24",
    "patient": {
        "birth_date": "1958-04-12",
        "weight_kg": 78,
        "conditions": [],
        "medications": ["baclofen", "gentamicin"],
    },
    "product": "BOTOX",
    "indication": "upper_limb_spasticity",
    "vials": [
        {
            "size_units": 200,
            "diluent_ml": 4,
            "reconstituted_at": "2026-11-24T08:30",
            "lot": "C1234A",
            "expiry": "2027-05-31",
        },
        {
            "size_units": 100,
            "diluent_ml": 2,
            "reconstituted_at": "2026-11-24T08:35",
            "lot": "C1234B",
            "expiry": "2027-05-31",
        },
    ],
    "injections": [
        {"muscle": m, "side": "left", "units": u, "sites": s, "guidance": "ultrasound"}
        for m, u, s in [
            ("biceps_brachii", 80, 3),
            ("brachialis", 40, 2),
            ("brachioradialis", 30, 1),
            ("pronator_teres", 20, 1),
            ("flexor_carpi_radialis", 25, 1),
            ("flexor_carpi_ulnaris", 25, 1),
            ("flexor_digitorum_profundus", 30, 1),
            ("flexor_digitorum_superficialis", 30, 1),
            ("flexor_pollicis_longus", 20, 1),
            ("adductor_pollicis", 10, 1),
        ]
    ],
    "history": [
        {
            "date": d,
            "product": "onabotulinumtoxinA",
            "indication": "upper_limb_spasticity",
            "total_units": 300,
        }
        for d in ("2026-02-10", "2026-05-12", "2026-08-18")
    ],
}


def rate(fn: Callable[[], object], seconds: float) -> tuple[float, float]:
    """(calls per CPU second, calls per wall-clock second) of ``fn`` over ``seconds``."""
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        for _ in range(100):
            fn()
        n += 100
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / (time.process_time() - cpu), n / elapsed


def pin_one_core() -> str:
    """Run on one CPU (the last one the process may use): 'on one core' taken literally."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"cpu {cpu}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    ap.add_argument("--runs", type=int, default=3)
    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.runs = 0.05, 1
    core = pin_one_core()
    ref = default_reference()
    raw = json.dumps(PLAN).encode()
    result = check_plan(read_plan(loads_json_fast(raw), ref), ref)
    out = result_json(result, ref)
    old = json.dumps(result_dict(check_plan(read_plan(loads_json(raw), ref), ref), ref))
    assert orjson.loads(out) == json.loads(old), "the fast route must give the same result"
    doc = result_dict(result, ref)
    print(
        f"plan: {len(raw):,} bytes, {len(result.plan.injections)} injections, "
        f"{result.total_units} U; verdict {result.verdict}, {len(result.findings)} findings; "
        f"result {len(out):,} bytes; {core}; load {os.getloadavg()[0]:.2f}"
    )

    def whole() -> bytes:
        return result_json(check_plan(read_plan(loads_json_fast(raw), ref), ref), ref)

    def floor() -> bytes:
        orjson.loads(raw)
        return orjson.dumps(doc)

    def json_route() -> bytes:
        r = check_plan(read_plan(loads_json(raw), ref), ref)
        return json.dumps(result_dict(r, ref)).encode()

    fulls, walls, floors, routes = [], [], [], []
    for _ in range(args.runs):  # alternate, so all see the same machine load
        cpu_rate, wall_rate = rate(whole, args.seconds)
        fulls.append(cpu_rate)
        walls.append(wall_rate)
        floors.append(rate(floor, args.seconds)[0])
        routes.append(rate(json_route, args.seconds)[0])
    plan = read_plan(loads_json_fast(raw), ref)
    stages = {
        "bytes_to_result": rate(
            lambda: check_plan(read_plan(loads_json_fast(raw), ref), ref), args.seconds / 2
        )[0],
        "decode": rate(lambda: loads_json_fast(raw), args.seconds / 2)[0],
        "read": rate(lambda: read_plan(PLAN, ref), args.seconds / 2)[0],
        "check": rate(lambda: check_plan(plan, ref), args.seconds / 2)[0],
        "to_json": rate(lambda: result_json(result, ref), args.seconds / 2)[0],
    }
    full, base = statistics.median(fulls), statistics.median(floors)
    rss_mib = peak_rss_mib()
    print(f"min / median of {args.runs} runs, plans per CPU-second on one core")
    print(f"bytes -> result -> bytes:   {min(fulls):9,.0f} / {full:9,.0f}   "
          f"(wall clock {min(walls):,.0f} / {statistics.median(walls):,.0f})")
    print(f"decode + encode only:       {min(floors):9,.0f} / {base:9,.0f}   (baseline)")
    print(f"json route (before):        {min(routes):9,.0f} / "
          f"{statistics.median(routes):9,.0f}")
    print("per stage, microseconds per plan: " + ", ".join(
        f"{k} {1e6 / v:.1f}" for k, v in stages.items()))
    print(f"peak RSS: {rss_mib:.1f} MiB")
    print(f"target >= {GOAL:,} checks/s on one core: {'met' if full >= GOAL else 'NOT met'}")
    emit(args, bench="plan_check", value=full, unit="plans/s", baseline=base,
         goal=f">= {GOAL} plans/s on one core (plan bytes -> result -> JSON bytes)",
         met=full >= GOAL, peak_rss_mib=rss_mib, **spread(fulls),
         wall=spread(walls), baseline_runs=spread(floors), json_route=spread(routes),
         stage_us={k: 1e6 / v for k, v in stages.items()}, load=os.getloadavg()[0])


if __name__ == "__main__":
    main()
