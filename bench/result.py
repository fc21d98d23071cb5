"""The one result every bench reports: with ``--json`` its LAST line of output is a JSON
object with the keys in ``KEYS`` (more keys may follow them), so a script or CI job can
read any bench the same way:

    {"bench": "plan_check", "value": 21000.0, "unit": "plans/s", "baseline": 90000.0,
     "ratio": 0.23, "goal": ">= 20000 plans/s", "met": true, "peak_rss_mib": 80.1, ...}

``value`` and ``baseline`` are measured in the same run (``ratio`` = value / baseline);
where a bench repeats its measurement, ``value`` is the median and ``min``/``median`` of
the runs are given too. ``--quick`` runs tiny sizes (seconds, not minutes) to show that
the bench works, not to measure anything.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

KEYS = ("bench", "value", "unit", "baseline", "ratio", "goal", "met", "peak_rss_mib")


def add_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--json", action="store_true",
                    help="end the output with one line of JSON: the result")
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes: checks that the bench runs; the figures mean little")


def spread(samples: Sequence[float]) -> dict[str, float]:
    """min and median of repeated runs."""
    return {"min": min(samples), "median": statistics.median(samples), "runs": len(samples)}


def peak_rss_mib(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of ``pid`` (default: this process), in MiB."""
    try:
        status = Path(f"/proc/{pid or 'self'}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid is None else \
        float("nan")


def emit(args: argparse.Namespace, *, bench: str, value: float, unit: str, baseline: float,
         goal: str, met: bool, peak_rss_mib: float, **extra: Any) -> dict[str, Any]:
    """Print the result line (with --json) and return it."""
    ratio = value / baseline if baseline else float("nan")
    result: dict[str, Any] = {"bench": bench, "value": _num(value), "unit": unit,
                              "baseline": _num(baseline), "ratio": _num(ratio), "goal": goal,
                              "met": bool(met), "peak_rss_mib": _num(peak_rss_mib),
                              "quick": bool(getattr(args, "quick", False))}
    result.update({k: _clean(v) for k, v in extra.items()})
    if getattr(args, "json", False):
        sys.stdout.flush()
        print(json.dumps(result, allow_nan=False, default=str), flush=True)
    return result


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def _num(x: float) -> float | None:
    """JSON has no NaN: a figure that could not be measured is null."""
    return None if x != x else float(f"{float(x):.6g}")  # six significant digits
