"""`bontrack patterns list|propose` as a process: JSON out, one-line errors naming the field."""

from __future__ import annotations

import json
import subprocess
import sys


def bontrack(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", "from bontrack.cli.main import run; run()", "patterns", *args],
        capture_output=True, timeout=60, check=False,
    )


def test_list_and_propose_as_json():
    r = bontrack("list", "--indication", "chronic migraine", "--json")
    assert r.returncode == 0, r.stderr
    assert [p["id"] for p in json.loads(r.stdout)] == ["chronic_migraine_paradigm"]
    r = bontrack("propose", "clenched_fist", "--product", "XEOMIN", "--indication",
                 "upper_limb_spasticity", "--age", "70", "--side", "both", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["total_units"] == "100" and doc["stops"] == []
    assert {(i["muscle"], i["side"], i["units"]) for i in doc["injections"]} == {
        ("flexor_digitorum_superficialis", "left", "25"),
        ("flexor_digitorum_superficialis", "right", "25"),
        ("flexor_digitorum_profundus", "left", "25"),
        ("flexor_digitorum_profundus", "right", "25")}


def test_bad_input_is_one_line_naming_the_field():
    r = bontrack("propose", "claw_toes", "--product", "XEOMIN", "--indication",
                 "upper_limb_spasticity", "--age", "70", "--side", "left")
    err = r.stderr.decode()
    assert r.returncode == 2 and err.count("\n") == 1 and "patterns.0" in err, err
    r = bontrack("propose", "clenched_fist", "--product", "XEOMIN", "--indication",
                 "upper_limb_spasticity", "--age", "70", "--side", "up")
    assert r.returncode == 2 and "side" in r.stderr.decode()
