"""POST /api/v1/fhir/import (issue 18, item 6): the API's import answers what it imported,
what it skipped and why, and what an earlier import already wrote; a refused input is 422
problem+json with every problem and nothing saved. The import's own rules are tested in
depth through the command line (tests/fhir/test_import_forgiving.py)."""

from __future__ import annotations

import json

from tests.fhir.test_import import count
from tests.fhir.test_import_forgiving import BOTOX, dose, ehr_bundle

PATH = "/api/v1/fhir/import"


def test_the_api_imports_a_bundle_lists_what_it_skipped_and_never_duplicates(api):
    before = {t: count(api.url, t) for t in ("patients", "cycles", "injections")}
    bundle = ehr_bundle(dose("ma-1", BOTOX, 200, "[iU]"), dose("ma-2", {"text": "?"}, 9))
    r = api.post("doc", PATH, json=bundle)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["imported"]["patient"] == 1 and body["imported"]["cycle"] == 1
    skipped = {s["resource"]: s for s in body["skipped"]}
    assert set(skipped) == {"AllergyIntolerance/alg-1", "MedicationRequest/rx-1",
                            "Encounter/enc-1", "MedicationAdministration/ma-2"}
    assert "never counted under another product" in skipped[
        "MedicationAdministration/ma-2"]["reason"]
    after = {t: count(api.url, t) for t in before}
    assert after == {t: n + 1 for t, n in before.items()}
    r = api.post("doc", PATH, json=bundle)
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == {"patient unchanged": 1}
    assert len(r.json()["already_imported"]) == 2
    assert {t: count(api.url, t) for t in before} == after


def test_the_api_refuses_bad_json_and_a_nurse_with_nothing_saved(api):
    before = count(api.url, "patients")
    r = api.post("doc", PATH, content=b'{"resourceType": "Bundle", "entry": [',
                 headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "not JSON" in r.json()["problems"][0]["reason"]
    r = api.post("doc", PATH, content=json.dumps({"hello": 1}).encode(),
                 headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not a FHIR resource" in r.text
    bad = ehr_bundle(dose("ma-1", BOTOX, 200))
    bad["entry"][0]["resource"]["birthDate"] = "someday"
    r = api.post("doc", PATH, json=bad)
    assert r.status_code == 422 and any(p["resource"] == "Patient/pat-1"
                                        for p in r.json()["problems"])
    assert api.post("nurse", PATH, json=ehr_bundle()).status_code == 403
    assert api.client.post(PATH, json=ehr_bundle()).status_code == 401
    assert count(api.url, "patients") == before
