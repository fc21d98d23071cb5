"""Benchmark: Bulk FHIR export of a demo registry next to a raw SELECT of the same rows, in
the same run, on the same database.

Each phase runs in its own process so its peak RSS is its own: "raw" reads every row the
export reads (patients, conditions, weights, cycles, injections, vials, findings, overrides,
outcomes, goals, side effects, diary) with SQLAlchemy Core, in the same patient batches;
"export" writes the Bulk Data NDJSON files. The phases alternate ``--repeat`` times and the
best of each counts. Prints wall and CPU time, rows or resources per CPU second, the ratio
and each phase's peak RSS. The ratio uses CPU time because the benchmark machine is shared
(wall time swings with other people's load). Goal: export at most 2x the raw read.

    python bench/fhir_export.py [--patients 100000] [--db sqlite:////tmp/fhir-bench.db]
                                [--repeat 3] [--quick] [--json]

The JSON line (``--json``, bench/result.py): export CPU seconds (median, min of the runs)
against the raw read's CPU seconds (median).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak RSS. Linux keeps ru_maxrss across exec (a child would report
    the parent's peak after generating the demo), so read VmHWM, which is per process."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(db: str, patients: int) -> int:
    """The demo registry (generated once; reused when it already has enough patients)."""
    from sqlalchemy import func, select

    from bontrack.demo.generator import generate
    from bontrack.store.db import make_engine, session_factory
    from bontrack.store.migrate import upgrade
    from bontrack.store.models import Patient
    from bontrack.store.uow import Database

    engine = make_engine(db)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        have = s.scalar(select(func.count()).select_from(Patient)) or 0
    if have < patients:
        t = time.perf_counter()
        generate(Database(engine), patients=patients - have, seed=5)
        print(f"generated {patients - have} demo patients in {time.perf_counter() - t:.0f} s",
              file=sys.stderr)
    engine.dispose()
    return max(have, patients)


def raw(db: str) -> dict[str, float]:
    """Every row the export reads, batch by batch, as plain tuples: the floor."""
    from sqlalchemy import select

    from bontrack.fhir import export as ex
    from bontrack.fhir.registry import REGISTRY
    from bontrack.fhir.tables import CY
    from bontrack.store.db import make_engine, reader_engine, session_factory

    engine = reader_engine(make_engine(db))
    rows = 0
    gc.collect()  # each phase pays for its own garbage only (see ``export``)
    t, cpu = time.perf_counter(), time.process_time()
    with session_factory(engine)() as s:
        for batch in ex.patient_batches(s):
            ids = [p.id for p in batch]
            rows += len(batch)
            for rs in REGISTRY.rowsets:  # the row sets the registry's exporters read
                table = rs.table
                if rs.by == "patient":
                    stmt = select(table).where(table.c.patient_id.in_(ids))
                else:
                    stmt = (select(table).join(CY, CY.c.id == table.c.cycle_id)
                            .where(CY.c.patient_id.in_(ids)))
                rows += len(s.execute(stmt).all())
    return {"seconds": time.perf_counter() - t, "cpu": time.process_time() - cpu, "rows": rows,
            "rss": peak_rss_mib()}


def export(db: str, out: str) -> dict[str, float]:
    from bontrack.fhir import export as ex
    from bontrack.reference import default_reference
    from bontrack.store.db import make_engine, reader_engine, session_factory

    engine = reader_engine(make_engine(db))
    ref = default_reference()
    # Loading the reference data leaves garbage; without this a full collection of it (50-70
    # ms) fell inside one phase's timer or the other's depending on the database (issue 16).
    gc.collect()
    t, cpu = time.perf_counter(), time.process_time()
    with session_factory(engine)() as s:
        counts = ex.write_ndjson(s, ex.context(s, ref), Path(out))
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    size = sum(p.stat().st_size for p in Path(out).glob("*.ndjson"))
    return {"seconds": seconds, "cpu": cpu, "resources": sum(counts.values()), "bytes": size,
            "rss": peak_rss_mib()}


def phase(name: str, db: str, out: str) -> dict[str, float]:
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import fhir_export as b; print(json.dumps(b.{name}(*sys.argv[1:])))")
    args = [db] if name == "raw" else [db, out]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       check=True)
    result: dict[str, float] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--db", default="sqlite:////tmp/fhir-bench.db")
    ap.add_argument("--repeat", type=int, default=3)
    sys.path.insert(0, str(Path(__file__).parent))
    from result import add_options, emit, spread

    add_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.patients, args.repeat = 6, 2
        args.db = f"sqlite:///{tempfile.mkdtemp(prefix='fhir-bench-')}/quick.db"
    n = prepare(args.db, args.patients)
    runs: dict[str, list[dict[str, float]]] = {"raw": [], "export": []}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.repeat):  # alternate, so both see the same machine load
            runs["raw"].append(phase("raw", args.db, out))
            runs["export"].append(phase("export", args.db, out))
    r = min(runs["raw"], key=lambda x: x["cpu"])
    e = min(runs["export"], key=lambda x: x["cpu"])
    engine = args.db.split(":", 1)[0]
    print(f"{n} demo patients; {engine}; best of {args.repeat} runs each")
    print(f"raw SELECT   {r['rows']:>9.0f} rows       wall {r['seconds']:6.2f} s  "
          f"CPU {r['cpu']:6.2f} s  {r['rows'] / r['cpu']:>8.0f} rows/s (CPU)       "
          f"peak RSS {r['rss']:6.1f} MiB")
    print(f"FHIR export  {e['resources']:>9.0f} resources  wall {e['seconds']:6.2f} s  "
          f"CPU {e['cpu']:6.2f} s  {e['resources'] / e['cpu']:>8.0f} resources/s (CPU)  "
          f"peak RSS {e['rss']:6.1f} MiB  ({e['bytes'] / 2**20:.0f} MiB NDJSON)")
    ratio = e["cpu"] / r["cpu"]
    print(f"ratio export / raw read (CPU time): {ratio:.2f}; wall: "
          f"{e['seconds'] / r['seconds']:.2f} (goal <= 2.0: "
          f"{'met' if ratio <= 2.0 else 'NOT met'})")
    export_cpu = [x["cpu"] for x in runs["export"]]
    raw_cpu = statistics.median(x["cpu"] for x in runs["raw"])
    value = statistics.median(export_cpu)
    emit(args, bench="fhir_export", value=value, unit="CPU s (Bulk FHIR export)",
         baseline=raw_cpu, goal="export <= 2.0x the raw read (CPU time)",
         met=value / raw_cpu <= 2.0, peak_rss_mib=max(x["rss"] for x in runs["export"]),
         **spread(export_cpu), best_ratio=ratio, patients=n, resources=e["resources"])


if __name__ == "__main__":
    main()
