"""Benchmark: a Bulk export with ``_since`` next to a full one, on a new demo registry.

Three phases, each in its own process (its peak RSS its own): the full export (byte fast
path), ``_since`` after a cut where 1% of the patients changed (the incremental case), and
``_since`` before every record (everything again, through the dict path that reads
``meta.lastUpdated``). Prints one JSON line per phase: CPU and wall seconds, resources,
peak RSS. The registry is generated afresh in a temporary folder.

    python bench/fhir_export_since.py [--patients 5000] [--quick] [--json]

The JSON line (``--json``, bench/result.py): the incremental export's CPU seconds against
the full export's (same run, same registry). Goal: at most 0.25x.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from result import add_options, emit, peak_rss_mib


def database(folder: Path) -> str:
    return f"sqlite:///{folder / 'demo.db'}"


def phase(name: str, folder: Path, since: str | None) -> None:
    from bontrack.fhir import export as ex
    from bontrack.reference import default_reference
    from bontrack.store.db import make_engine, session_factory

    engine = make_engine(database(folder))
    ref = default_reference()  # loaded before the clock starts: the same for every phase
    with session_factory(engine)() as s:
        t0, w0 = time.process_time(), time.perf_counter()
        counts = ex.write_ndjson(s, ex.context(s, ref), folder / f"out-{name}",
                                 since=datetime.fromisoformat(since) if since else None)
        print(json.dumps({"phase": name, "cpu_s": time.process_time() - t0,
                          "wall_s": round(time.perf_counter() - w0, 3),
                          "resources": sum(counts.values()),
                          "peak_rss_mib": round(peak_rss_mib(), 1)}), flush=True)
    engine.dispose()


def main() -> None:
    import sqlalchemy as sa

    from bontrack.demo.generator import generate
    from bontrack.store.db import make_engine
    from bontrack.store.migrate import upgrade
    from bontrack.store.uow import Database

    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=5000)
    add_options(ap)
    args = ap.parse_args()
    n = 100 if args.quick else args.patients
    folder = Path(tempfile.mkdtemp(prefix="bulk-since-"))
    engine = make_engine(database(folder))
    upgrade(engine)
    generate(Database(engine), patients=n, seed=5)
    cut = datetime.now(UTC) + timedelta(seconds=1)
    time.sleep(1.5)
    with engine.begin() as c:  # 1% of the patients changed after the cut
        c.execute(sa.text("UPDATE patients SET updated_at = :t WHERE id % 100 = 0"),
                  {"t": datetime.now(UTC)})
    engine.dispose()
    phases: dict[str, dict[str, float]] = {}
    try:
        for name, since in (("full", None), ("since-1pct", cut.isoformat()),
                            ("since-all", "2000-01-01T00:00:00+00:00")):
            done = subprocess.run([sys.executable, __file__, "--phase", name, str(folder),
                                   *([since] if since else [])],
                                  check=True, capture_output=True, text=True)
            line = done.stdout.strip().splitlines()[-1]
            print(line, flush=True)
            phases[name] = json.loads(line)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    full, incremental = phases["full"]["cpu_s"], phases["since-1pct"]["cpu_s"]
    ratio = incremental / full if full else float("nan")
    emit(args, bench="fhir_export_since", value=max(incremental, 1e-6), unit="CPU s",
         baseline=max(full, 1e-6), goal="_since with 1% changed <= 0.25x the full export",
         met=ratio <= 0.25, peak_rss_mib=max(p["peak_rss_mib"] for p in phases.values()),
         patients=n, phases=phases)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--phase"]:
        phase(sys.argv[2], Path(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        main()
