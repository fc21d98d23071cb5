"""`bontrack check` as a process: the contract's exit codes, JSON, stdin, --at, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "child-upper-limb.yaml"


def bontrack(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bontrack.cli.main import run; run()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, doc: object, name: str = "plan.yaml") -> str:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return str(p)


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def test_example_plan_passes_with_exit_0_and_a_table():
    r = bontrack("check", str(EXAMPLE))
    assert r.returncode == 0, r.stderr
    assert "Findings" in r.stdout and "Preparation" in r.stdout and "Units per 0.1 mL" in r.stdout


def test_example_plan_shows_the_botox_muscle_relaxant_interaction_for_baclofen():
    r = bontrack("check", str(EXAMPLE), "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["verdict"] == "warning"
    # every check runs for this child's plan (the 50 Units per site of BOTOX's general
    # spasticity paragraph holds for children too since reference data 2026.12.4)
    assert [f["code"] for f in doc["findings"]] == ["DRUG_INTERACTION"]
    assert doc["checks_not_available"] == []
    f = doc["findings"][0]
    assert "baclofen" in f["message"] and "muscle relaxants" in f["message"]
    assert "Muscle Relaxants" in f["source"] and "muscle relaxant" in f["quote"]
    text = bontrack("check", str(EXAMPLE)).stdout
    assert "DRUG_INTERACTION" in text and "No findings" not in text


def test_json_result_has_the_contract_fields():
    r = bontrack("check", str(EXAMPLE), "--json")
    doc = json.loads(r.stdout)
    assert {
        "verdict",
        "product",
        "indication",
        "total_units",
        "findings",
        "preparation",
        "next_earliest_date",
    } <= set(doc)
    assert {"vials", "units_per_0_1_ml", "per_injection", "units_discarded"} <= set(
        doc["preparation"]
    )
    assert doc["product"] == "onabotulinumtoxinA" and doc["total_units"] == 96
    assert doc["preparation"]["per_injection"][0] == {
        "muscle": "biceps_brachii",
        "side": "left",
        "units": 48,
        "sites": 4,
        "units_per_site": 12,
        "ml_per_site": 0.24,
        "ml_total": 0.96,
    }


def test_a_stop_finding_exits_1_with_limit_value_and_source(tmp_path):
    doc = example()
    doc["injections"][0]["units"] = 150  # 24 kg child: 6 U/kg = 144 U
    r = bontrack("check", write(tmp_path, doc), "--json")
    assert r.returncode == 1
    found = [f for f in json.loads(r.stdout)["findings"] if f["severity"] == "stop"]
    assert found and all(
        f["limit"] is not None and f["value"] is not None and f["source"] for f in found
    )


def test_json_plan_on_stdin(tmp_path):
    r = bontrack("check", "-", "--json", stdin=json.dumps(example(), default=str))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] in ("ok", "warning")


def test_at_rechecks_the_plan_for_another_day(tmp_path):
    doc = example()
    del doc["vials"]
    r = bontrack("check", write(tmp_path, doc), "--json", "--at", "2026-09-01")
    doc = json.loads(r.stdout)
    assert doc["date"] == "2026-09-01"
    assert r.returncode == 1  # only 12 days after the history entry of 2026-08-20
    assert any(f["code"] == "RETREATMENT_TOO_SOON" for f in doc["findings"])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("date: [unclosed", "not valid YAML"),
        ('{"date": ', "not valid JSON"),
        ("", "is empty"),
        ("- just\n- a list\n", "(top level): must be a mapping"),
        ("date: 2026-11-24\n", "patient: is required"),
    ],
)
def test_unreadable_plans_exit_2_with_one_line_and_no_traceback(tmp_path, content, words):
    r = bontrack("check", write(tmp_path, content))
    assert r.returncode == 2
    assert words in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_muscle_suggests_the_closest_name(tmp_path):
    doc = example()
    doc["injections"][0]["muscle"] = "bicepsbrachi"
    r = bontrack("check", write(tmp_path, doc))
    assert r.returncode == 2
    assert "injections.0.muscle" in r.stderr and "biceps_brachii" in r.stderr


def test_unknown_product_suggests_the_closest_name(tmp_path):
    doc = example()
    doc["product"] = "Xeomen"
    r = bontrack("check", write(tmp_path, doc))
    assert r.returncode == 2 and "incobotulinumtoxinA" in r.stderr


def test_at_before_the_vial_was_reconstituted_is_a_clean_error():
    r = bontrack("check", str(EXAMPLE), "--at", "2026-09-01")
    assert r.returncode == 2 and "vials.0.reconstituted_at" in r.stderr


def test_missing_file_and_bad_at_are_clean_errors(tmp_path):
    r = bontrack("check", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2 and "file not found" in r.stderr
    r = bontrack("check", str(EXAMPLE), "--at", "24/11/2026")
    assert r.returncode == 2 and "--at" in r.stderr and "Traceback" not in r.stderr


def test_binary_file_is_a_clean_error(tmp_path):
    p = tmp_path / "plan.yaml"
    p.write_bytes(b"\xff\xfe\x00\x01garbage")
    r = bontrack("check", str(p))
    assert r.returncode == 2 and "UTF-8" in r.stderr


def test_usage_errors_exit_2_without_traceback():
    r = bontrack("check")
    assert r.returncode == 2 and "Traceback" not in r.stderr


@pytest.mark.parametrize("what", ["products", "indications", "muscles", "rules"])
def test_reference_listings_as_json_carry_sources(what):
    r = bontrack("reference", what, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows
    if what == "rules":
        assert all(row["source"] and row["quote"] for row in rows)


def test_reference_rules_filter_by_product_and_indication():
    r = bontrack(
        "reference",
        "rules",
        "--product",
        "Dysport",
        "--indication",
        "upper_limb_spasticity",
        "--json",
    )
    rows = json.loads(r.stdout)
    assert rows and {row["product"] for row in rows} == {"abobotulinumtoxinA"}


def test_reference_table_output_and_unknown_filter():
    assert "Dose rules" in bontrack("reference", "rules", "--product", "botox").stdout
    r = bontrack("reference", "rules", "--product", "botoks")
    assert r.returncode == 2 and "onabotulinumtoxinA" in r.stderr


def _uls(units_line: str) -> str:
    return ("date: 2026-11-24\npatient: {birth_date: 1970-03-02, weight_kg: 80}\n"
            "product: Botox\nindication: upper_limb_spasticity\ninjections:\n"
            f"  - {{muscle: biceps_brachii, side: left, sites: 4, {units_line}}}\n")


def test_units_with_a_leading_zero_are_checked_as_typed(tmp_path):
    r = bontrack("check", write(tmp_path, _uls("units: 060")), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["total_units"] == 60


def test_units_written_like_a_time_are_refused_not_read_as_sexagesimal(tmp_path):
    r = bontrack("check", write(tmp_path, _uls("units: 1:30")))
    assert r.returncode == 2
    assert "injections.0.units" in r.stderr and "1:30" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_key_given_twice_exits_2_naming_the_key(tmp_path):
    r = bontrack("check", write(tmp_path, _uls("units: 400, units: 40")))
    assert r.returncode == 2
    assert "'units' is given twice" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_json_key_given_twice_exits_2_naming_the_key(tmp_path):
    doc = ('{"date": "2026-11-24", "product": "Botox", "product": "Myobloc", '
           '"indication": "cervical_dystonia", "patient": {"age_years": 50}, "injections": []}')
    r = bontrack("check", write(tmp_path, doc, "plan.json"))
    assert r.returncode == 2 and "'product' is given twice" in r.stderr
