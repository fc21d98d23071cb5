"""Benchmark: a Bulk export with ``_since`` next to a full one, on a new demo registry.

Three phases, each in its own process (its peak RSS its own): the full export (byte fast
path), ``_since`` after a cut where 1% of the patients changed (the incremental case), and
``_since`` before every record (everything again, through the dict path that reads
``meta.lastUpdated``). Prints one JSON line per phase: CPU and wall seconds, resources,
peak RSS. The registry is generated afresh in /tmp/bulk-since-bench.

    python bench/fhir_export_since.py [--patients 5000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

DIR = Path("/tmp/bulk-since-bench")
DB = f"sqlite:///{DIR / 'demo.db'}"


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def phase(name: str, since: str | None) -> None:
    from bontrack.fhir import export as ex
    from bontrack.reference import default_reference
    from bontrack.store.db import make_engine, session_factory

    engine = make_engine(DB)
    with session_factory(engine)() as s:
        t0, w0 = time.process_time(), time.perf_counter()
        counts = ex.write_ndjson(s, ex.context(s, default_reference()), DIR / f"out-{name}",
                                 since=datetime.fromisoformat(since) if since else None)
        print(json.dumps({"phase": name, "cpu_s": round(time.process_time() - t0, 2),
                          "wall_s": round(time.perf_counter() - w0, 2),
                          "resources": sum(counts.values()),
                          "peak_rss_mib": round(peak_rss_mib(), 1)}))
    engine.dispose()


def main() -> None:
    import sqlalchemy as sa

    from bontrack.demo.generator import generate
    from bontrack.store.db import make_engine
    from bontrack.store.migrate import upgrade
    from bontrack.store.uow import Database

    args = argparse.ArgumentParser()
    args.add_argument("--patients", type=int, default=5000)
    n = args.parse_args().patients
    DIR.mkdir(parents=True, exist_ok=True)
    (DIR / "demo.db").unlink(missing_ok=True)
    engine = make_engine(DB)
    upgrade(engine)
    generate(Database(engine), patients=n, seed=5)
    cut = datetime.now(UTC) + timedelta(seconds=1)
    time.sleep(1.5)
    with engine.begin() as c:  # 1% of the patients changed after the cut
        c.execute(sa.text("UPDATE patients SET updated_at = :t WHERE id % 100 = 0"),
                  {"t": datetime.now(UTC)})
    engine.dispose()
    for name, since in (("full", None), ("since-1pct", cut.isoformat()),
                        ("since-all", "2000-01-01T00:00:00+00:00")):
        subprocess.run([sys.executable, __file__, "--phase", name, *([since] if since else [])],
                       check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--phase"]:
        phase(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        main()
