"""Benchmark: plan checks per second next to merely reading the same plan.

A realistic 10-muscle adult upper-limb plan (BOTOX, two vials, history of three cycles) is
checked in a loop on one core. The baseline is reading (validating) the same decoded plan
into a Plan value; the ratio shows what the rules cost. Prints plans/second, the ratio and
peak memory (RSS).

    python bench/plan_check.py [--seconds 3] [--runs 5] [--quick] [--json]

Each rate is measured ``--runs`` times (read and read + check alternate); the figures are
the medians (min/median in the JSON line, see bench/result.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bontrack.clinical.check import check_plan
from bontrack.clinical.plan import read_plan
from bontrack.clinical.result import result_dict
from bontrack.reference import default_reference

sys.path.insert(0, str(Path(__file__).parent))
from result import add_options, emit, peak_rss_mib, spread

GOAL = 20_000  # plan checks per second on one core

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


def rate(fn: Callable[[], object], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(200):
            fn()
        n += 200
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    ap.add_argument("--runs", type=int, default=5)
    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.runs = 0.1, 2
    ref = default_reference()
    plan = read_plan(PLAN, ref)
    result = check_plan(plan, ref)
    print(
        f"plan: {len(plan.injections)} injections, {plan.total_units()} U, verdict "
        f"{result.verdict}, {len(result.findings)} findings"
    )
    parses, fulls = [], []
    for _ in range(args.runs):  # alternate, so both see the same machine load
        parses.append(rate(lambda: read_plan(PLAN, ref), args.seconds))
        fulls.append(rate(lambda: check_plan(read_plan(PLAN, ref), ref), args.seconds))
    parse, full = statistics.median(parses), statistics.median(fulls)
    rules_only = rate(lambda: check_plan(plan, ref), args.seconds)
    with_json = rate(lambda: result_dict(check_plan(read_plan(PLAN, ref), ref), ref), args.seconds)
    rss_mib = peak_rss_mib()
    print(f"medians of {args.runs} runs")
    print(f"read only (baseline):        {parse:10,.0f} plans/s")
    print(
        f"read + check:                {full:10,.0f} plans/s  "
        f"(ratio to baseline {full / parse:.2f}; min {min(fulls):,.0f})"
    )
    print(f"check of a read plan:        {rules_only:10,.0f} plans/s")
    print(f"read + check + JSON result:  {with_json:10,.0f} plans/s")
    print(f"peak RSS: {rss_mib:.1f} MiB")
    print(f"target >= {GOAL:,} checks/s on one core: {'met' if full >= GOAL else 'NOT met'}")
    emit(args, bench="plan_check", value=full, unit="plans/s", baseline=parse,
         goal=f">= {GOAL} plans/s (read + check, one core)", met=full >= GOAL,
         peak_rss_mib=rss_mib, **spread(fulls), baseline_runs=spread(parses))


if __name__ == "__main__":
    main()
