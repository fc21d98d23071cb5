"""Every bench in bench/ runs (tiny sizes: --quick) and ends its output with the one JSON
result line that bench/result.py defines. Runs them four at a time to stay well under a
minute; the figures of a quick run mean nothing and are not checked, only their form."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
HELPERS = {"result.py", "wrk.py"}
KEYS = {"bench": str, "value": (int, float), "unit": str, "baseline": (int, float),
        "ratio": (int, float), "goal": str, "met": bool, "peak_rss_mib": (int, float)}


def run(path: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    done = subprocess.run([sys.executable, str(path), "--quick", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=BENCH.parent,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False)
    return path, done


def test_every_bench_runs_quick_and_ends_with_its_json_result():
    benches = sorted(p for p in BENCH.glob("*.py") if p.name not in HELPERS)
    assert len(benches) >= 7
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, benches))
    problems = []
    for path, done in results:
        lines = done.stdout.strip().splitlines()
        try:
            last = json.loads(lines[-1])
        except (IndexError, ValueError):
            problems.append(f"{path.name}: exit {done.returncode}, last line not JSON:\n"
                            f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
            continue
        for key, kind in KEYS.items():
            if not isinstance(last.get(key), kind):
                problems.append(f"{path.name}: {key}={last.get(key)!r} is not {kind}")
        if last.get("bench") != path.stem:
            problems.append(f"{path.name}: bench is {last.get('bench')!r}")
        numbers = [last.get(k) for k in ("value", "baseline", "ratio", "peak_rss_mib")]
        if not all(isinstance(x, int | float) and math.isfinite(x) and x > 0
                   for x in numbers):
            problems.append(f"{path.name}: figures must be positive numbers: {numbers}")
        elif not math.isclose(last["ratio"], last["value"] / last["baseline"], rel_tol=1e-2):
            problems.append(f"{path.name}: ratio is not value / baseline: {last}")
        if last.get("quick") is not True:
            problems.append(f"{path.name}: does not say it was a quick run")
    assert problems == [], "\n".join(problems)
