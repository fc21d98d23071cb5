"""FHIR export: every resource of the demo registry passes two independent R4 checks, and the
CLI writes a patient Bundle and Bulk Data NDJSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bontrack.fhir import export
from bontrack.reference import default_reference
from bontrack.store.db import make_engine, session_factory
from tests.fhir.validator import errors, model_errors, schema_errors

SRC = str(Path(__file__).resolve().parents[2] / "src")


def all_resources(url: str, size: int = export.BATCH) -> list[dict]:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        out = list(export.resources(s, export.context(s, default_reference()), size=size))
    engine.dispose()
    return out


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           *args], capture_output=True, text=True, env=env, timeout=300,
                          check=False)


def test_every_resource_of_the_demo_registry_passes_the_r4_schema_and_the_r4b_models(demo_url):
    resources = all_resources(demo_url)
    kinds = Counter(r["resourceType"] for r in resources)
    assert set(kinds) >= {"Patient", "Condition", "Encounter", "Procedure", "Medication",
                          "MedicationAdministration", "Observation", "Goal"}
    problems = [e for r in resources for e in errors(r)]
    assert problems == []


def test_the_validators_catch_a_broken_resource():
    bad = {"resourceType": "MedicationAdministration", "id": "1", "status": "completed",
           "effectiveDateTime": "yesterday"}
    assert schema_errors(bad)  # no subject, bad dateTime
    assert model_errors(bad)


def test_an_injection_carries_product_units_site_laterality_route_and_lot(sqlite_demo):
    resources = all_resources(sqlite_demo)
    meds = {r["id"]: r for r in resources if r["resourceType"] == "Medication"}
    ma = next(r for r in resources if r["resourceType"] == "MedicationAdministration"
              and r["dosage"]["site"]["coding"][0]["code"] == "trapezius")
    dose = ma["dosage"]["dose"]
    assert dose["system"] == "http://unitsofmeasure.org" and dose["code"] == "[arb'U]"
    site = ma["dosage"]["site"]
    assert {"system": "http://snomed.info/sct", "code": "31764008",
            "display": "Trapezius muscle structure"} in site["coding"]
    side = site["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert side["code"] in ("7771000", "24028007")
    assert ma["dosage"]["route"]["coding"][0]["code"] == "78421000"
    vial = meds[ma["medicationReference"]["reference"].split("/")[1]]
    assert vial["batch"]["lotNumber"].startswith("L") and vial["batch"]["expirationDate"]
    assert ma["partOf"] == [{"reference": f"Procedure/{ma['context']['reference'][10:]}"}]


def test_no_guessed_codes_an_unverified_muscle_has_only_the_bontrack_coding(sqlite_demo):
    resources = all_resources(sqlite_demo)
    ref = default_reference()
    sites = [r["dosage"]["site"] for r in resources
             if r["resourceType"] == "MedicationAdministration"]
    unverified = [s for s in sites if ref.muscles[s["coding"][0]["code"]].snomed is None]
    assert unverified
    assert all(len(s["coding"]) == 1 for s in unverified)


def test_small_batches_give_the_same_export_as_one_batch(sqlite_demo):
    assert all_resources(sqlite_demo, size=3) == all_resources(sqlite_demo, size=1000)


def test_cli_writes_a_patient_bundle_and_bulk_ndjson_with_one_file_per_type(sqlite_demo,
                                                                         tmp_path):
    r = cli("fhir", "export", "--patient", "1", "--out", str(tmp_path / "p1.json"),
            "--db", sqlite_demo)
    assert r.returncode == 0, r.stderr
    b = json.loads((tmp_path / "p1.json").read_text())
    assert b["resourceType"] == "Bundle" and b["type"] == "collection"
    assert b["entry"][0]["resource"] == {**b["entry"][0]["resource"], "resourceType": "Patient",
                                         "id": "1"}
    assert schema_errors(b) == []
    r = cli("fhir", "export", "--all", str(tmp_path / "bulk"), "--db", sqlite_demo)
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in (tmp_path / "bulk").iterdir())
    assert "Patient.ndjson" in files and "MedicationAdministration.ndjson" in files
    for f in (tmp_path / "bulk").iterdir():
        types = {json.loads(line)["resourceType"] for line in f.read_text().splitlines()}
        assert types <= {f.stem}
    patients = (tmp_path / "bulk" / "Patient.ndjson").read_text().splitlines()
    assert len(patients) == 12


def test_cli_names_an_unknown_patient_in_one_line_and_exits_2(sqlite_demo):
    r = cli("fhir", "export", "--patient", "999", "--db", sqlite_demo)
    assert r.returncode == 2
    assert r.stderr.strip() == "bontrack: error: --patient: no patient with id 999"



def test_every_sided_site_carries_hl7_mcode_laterality_beside_bontrack_s(sqlite_demo):
    from bontrack.fhir.codes import EXT, LATERALITY, MCODE_LATERALITY
    resources = all_resources(sqlite_demo)
    sites = [r["dosage"]["site"] for r in resources
             if r["resourceType"] == "MedicationAdministration"]
    sites += [r["bodySite"] for r in resources
              if r["resourceType"] == "Observation" and "bodySite" in r]
    sided = [s for s in sites if s.get("extension")]
    assert sided
    snomed_of = {code: side for side, (code, _) in LATERALITY.items()}
    snomed_of["399488007"] = "midline"
    seen = set()
    for s in sided:
        by_url = {e["url"]: e["valueCodeableConcept"]["coding"][0] for e in s["extension"]}
        ours, hl7 = by_url[EXT["laterality"]], by_url[MCODE_LATERALITY]
        assert hl7["system"] == "http://snomed.info/sct"
        side = snomed_of[hl7["code"]]
        seen.add(side)
        assert ours["code"] == (hl7["code"] if side != "midline" else "midline")
    assert {"left", "right"} <= seen
