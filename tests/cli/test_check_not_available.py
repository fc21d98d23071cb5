"""`bontrack check`: never a silent OK. The JSON names the checks that could not run, and the
readable report says "ok — N checks not available" instead of a bare "No findings"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bontrack.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def plan_file(tmp_path: Path) -> str:
    # DAXXIFY cervical dystonia: a labelled range but no cited session maximum, interval or
    # muscle table in bontrack's data
    doc = {
        "date": "2026-11-24",
        "patient": {"age_years": 50},
        "product": "DAXXIFY",
        "indication": "cervical_dystonia",
        "injections": [{"muscle": "splenius_capitis", "side": "left", "units": 50, "sites": 2}],
    }
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(doc))
    return str(p)


def test_json_lists_the_checks_not_available_in_the_finding_and_the_result(tmp_path):
    r = bontrack("check", plan_file(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    missing = doc["checks_not_available"]
    assert missing and "interval" in missing
    f = next(f for f in doc["findings"] if f["code"] == "LIMIT_NOT_AVAILABLE")
    assert f["checks"] == missing and f["severity"] == "info"
    assert all("checks" in f and "muscles" in f for f in doc["findings"])


def test_readable_report_says_ok_with_the_number_of_checks_not_available(tmp_path):
    r = bontrack("check", plan_file(tmp_path), "--json")
    n = len(json.loads(r.stdout)["checks_not_available"])
    text = bontrack("check", plan_file(tmp_path)).stdout
    assert f"OK — {n} checks not available" in text
    assert "No findings" not in text
