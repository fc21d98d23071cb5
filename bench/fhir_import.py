"""Benchmark: FHIR import of a large NDJSON file, its peak memory against a plain read.

Writes an NDJSON file of ``--mb`` megabytes (another system's records: per patient a
Patient, a Condition, two sessions each with a Procedure, a Medication and six
MedicationAdministrations, an AdverseEvent), then runs ``bontrack fhir import`` on it into
a fresh SQLite database, in its own process, ``--repeat`` times. The baseline, in the same
run, is a process that only reads the file line by line and parses each line as JSON (the
floor of any streaming import). Goal (issue 15): the import's peak RSS stays under 300 MiB
for a 100 MB file.

    python bench/fhir_import.py [--mb 100] [--repeat 1] [--quick] [--json]

The JSON line (``--json``, bench/result.py): the import's peak RSS in MiB (median, min of
the runs) against the plain read's; the import's wall seconds and resources per second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from result import add_options, emit, spread

SRC = str(Path(__file__).resolve().parents[1] / "src")
SD = "https://fhir.bontrack.org/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
GOAL_MIB = 300.0
CS_TARGET = "https://fhir.bontrack.org/CodeSystem/injection-target"
MUSCLES = ((SNOMED, "22823000"), (CS_TARGET, "splenius_capitis"))  # SNOMED: sternocleidomastoid
SIDES = ("7771000", "24028007")


def patient_lines(n: int) -> list[dict]:
    pid = f"p{n}"
    out: list[dict] = [
        {"resourceType": "Patient", "id": pid, "meta": {"source": "bench-system"},
         "identifier": [{"system": "urn:oid:1.2.3.4", "value": f"B-{n:08d}"}],
         "name": [{"family": "Synthetic", "given": [f"Bench{n}"]}], "gender": "female",
         "birthDate": "1971-02-03"},
        {"resourceType": "Condition", "id": f"c{n}", "subject": {"reference": f"Patient/{pid}"},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                              "code": "G24.3"}]}}]
    for s, day in enumerate((date(2025, 1, 6), date(2025, 6, 2))):
        sid, mid = f"s{n}-{s}", f"m{n}-{s}"
        out.append({"resourceType": "Procedure", "id": sid, "status": "completed",
                    "subject": {"reference": f"Patient/{pid}"},
                    "performedDateTime": (day + timedelta(days=n % 20)).isoformat(),
                    "reasonCode": [{"text": "Cervical dystonia"}],
                    "performer": [{"actor": {"display": "Dr Elsewhere"}}],
                    "note": [{"text": "Session recorded in the bench system. " * 4}],
                    "extension": [{"url": SD + "total-units",
                                   "valueQuantity": {"value": 120, "system": UCUM,
                                                     "code": "[arb'U]"}}],
                    "usedReference": [{"reference": f"Medication/{mid}"}]})
        out.append({"resourceType": "Medication", "id": mid, "code": {"text": "Botox"},
                    "batch": {"lotNumber": f"L{n}", "expirationDate": "2027-01-31"},
                    "ingredient": [{"itemCodeableConcept": {"text": "onabotulinumtoxinA"},
                                    "strength": {
                                        "numerator": {"value": 100, "system": UCUM,
                                                      "code": "[arb'U]"},
                                        "denominator": {"value": 2, "system": UCUM,
                                                        "code": "mL"}}}]})
        for a in range(6):
            out.append({
                "resourceType": "MedicationAdministration", "id": f"a{n}-{s}-{a}",
                "status": "completed", "medicationReference": {"reference": f"Medication/{mid}"},
                "subject": {"reference": f"Patient/{pid}"},
                "partOf": [{"reference": f"Procedure/{sid}"}],
                "effectiveDateTime": day.isoformat(),
                "dosage": {"site": {"coding": [{"system": MUSCLES[a % 2][0],
                                                 "code": MUSCLES[a % 2][1]}],
                                    "extension": [{"url": SD + "laterality",
                                                   "valueCodeableConcept": {"coding": [
                                                       {"system": SNOMED,
                                                        "code": SIDES[(a // 2) % 2]}]}}]},
                           "dose": {"value": 20, "system": UCUM, "code": "[arb'U]"}}})
    out.append({"resourceType": "AdverseEvent", "id": f"e{n}", "actuality": "actual",
                "subject": {"reference": f"Patient/{pid}"}, "date": "2025-01-12",
                "event": {"text": "mild neck pain"},
                "suspectEntity": [{"instance": {"reference": f"Procedure/s{n}-0"}}]})
    return out


def write_file(path: Path, mb: float) -> tuple[int, int]:
    """The NDJSON file of about ``mb`` megabytes: (patients, resources)."""
    limit, size, n, resources = mb * 1024 * 1024, 0, 0, 0
    with path.open("w", encoding="utf-8") as f:
        while size < limit:
            for r in patient_lines(n):
                line = json.dumps(r, separators=(",", ":")) + "\n"
                f.write(line)
                size += len(line)
                resources += 1
            n += 1
    return n, resources


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MiB of the child, exit status, stderr tail)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    return wall, _child_peak(out), proc.returncode, err.decode()[-2000:]


def _child_peak(out: bytes) -> float:
    """The child prints its own VmHWM as its last stdout line (see ``RUN``)."""
    lines = out.decode().strip().splitlines()
    try:
        return float(lines[-1].split("peak_rss_mib=")[1])
    except (IndexError, ValueError):
        return float("nan")


#: run a command in this process, then print this process's peak RSS (VmHWM)
RUN = ("import sys, runpy\n"
       "from pathlib import Path\n"
       "def hwm():\n"
       "    for l in Path('/proc/self/status').read_text().splitlines():\n"
       "        if l.startswith('VmHWM:'): return int(l.split()[1]) / 1024\n"
       "code = 0\n"
       "try:\n"
       "    {body}\n"
       "except SystemExit as e:\n"
       "    code = e.code or 0\n"
       "print(f'peak_rss_mib={{hwm()}}', flush=True)\n"
       "sys.exit(code)\n")
IMPORT = ("sys.argv = ['bontrack'] + sys.argv[1:]\n"
          "    from bontrack.cli.main import run; run()")
PARSE = ("import json\n"
         "    n = 0\n"
         "    for line in open(sys.argv[1], 'rb'):\n"
         "        n += bool(json.loads(line))")


def fresh_db(url: str, env: dict[str, str]) -> None:
    code = ("import sys\n"
            "from bontrack.services import accounts\n"
            "from bontrack.store.db import make_engine, session_factory, transaction\n"
            "from bontrack.store.migrate import upgrade\n"
            "e = make_engine(sys.argv[1]); upgrade(e)\n"
            "with transaction(session_factory(e)) as s:\n"
            "    c = accounts.get_or_create_clinic(s, 'Bench clinic')\n"
            "    accounts.add_user(s, clinic=c, username='doc', "
            "password='correct horse battery', role='clinician')\n")
    subprocess.run([sys.executable, "-c", code, url], env=env, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--repeat", type=int, default=1)
    add_options(ap)
    args = ap.parse_args()
    mb = 0.3 if args.quick else args.mb
    env = {**os.environ, "PYTHONPATH": SRC, "BONTRACK_IMPORT_MAX_MB": str(int(mb) + 10)}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.ndjson"
        patients, resources = write_file(path, mb)
        size = path.stat().st_size / 1024 / 1024
        print(f"file: {size:.1f} MB, {patients} patients, {resources} resources", flush=True)
        walls, peaks, floors = [], [], []
        for r in range(max(1, args.repeat)):
            _, floor, code, err = measured(
                [sys.executable, "-c", RUN.format(body=PARSE), str(path)], env)
            floors.append(floor)
            url = f"sqlite:///{tmp}/bench-{r}.db"
            fresh_db(url, env)
            wall, peak, code, err = measured(
                [sys.executable, "-c", RUN.format(body=IMPORT), "fhir", "import", str(path),
                 "--user", "doc", "--db", url], env)
            if code != 0:
                sys.exit(f"import failed (exit {code}):\n{err}")
            walls.append(wall)
            peaks.append(peak)
            print(f"run {r + 1}: import {wall:.1f} s, peak RSS {peak:.0f} MiB "
                  f"(plain read {floor:.0f} MiB)", flush=True)
    value = statistics.median(peaks)
    emit(args, bench="fhir_import", value=value, unit="MiB peak RSS",
         baseline=statistics.median(floors), goal=f"< {GOAL_MIB:.0f} MiB for a 100 MB file",
         met=value < GOAL_MIB, peak_rss_mib=value, file_mb=round(size, 1),
         resources=resources, patients=patients, rss=spread(peaks), seconds=spread(walls),
         resources_per_s=resources / statistics.median(walls))


if __name__ == "__main__":
    main()
