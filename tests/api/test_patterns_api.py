"""Pattern templates through the API (SQLite and PostgreSQL): the list, the proposal, and
bad input answered 422 naming the field."""

from __future__ import annotations

import pytest


def test_patterns_list_and_filter(api):
    r = api.get("doc", "/api/v1/patterns")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert "flexed_elbow" in [p["id"] for p in items]
    for p in items:
        assert p["sources"] and all(s["quote"] and s["citation"] for s in p["sources"])
    r = api.get("doc", "/api/v1/patterns?indication=chronic_migraine")
    assert [p["id"] for p in r.json()["items"]] == ["chronic_migraine_paradigm"]
    r = api.get("doc", "/api/v1/patterns?indication=nonsense")
    assert r.status_code == 400 and r.json()["field"] == "indication"


def test_propose_gives_label_rows_that_sign_as_a_plan(api):
    body = {"patterns": ["flexed_elbow", "pronated_forearm"], "product": "XEOMIN",
            "indication": "upper_limb_spasticity", "age_years": 61, "side": "right"}
    r = api.post("doc", "/api/v1/patterns/propose", body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["product"] == "incobotulinumtoxinA" and doc["stops"] == []
    rows = {(i["muscle"], i["side"]): i for i in doc["injections"]}
    biceps = rows[("biceps_brachii", "right")]
    assert biceps["units"] == "50" and biceps["label_range"] == "50-200 U"
    assert "Biceps | 50 Units-200 Units" in biceps["dose_source"]["quote"]
    assert doc["total_units"] == "135"


def test_propose_lists_muscles_without_a_label_dose(api):
    body = {"patterns": ["flexed_wrist"], "product": "onabotulinumtoxinA",
            "indication": "upper_limb_spasticity", "age_years": 50, "side": "left"}
    doc = api.post("doc", "/api/v1/patterns/propose", body).json()
    assert doc["injections"] == []
    assert all("no label dose for this product" in n["reason"] for n in doc["not_proposed"])


@pytest.mark.parametrize("over, field", [
    ({"patterns": ["nope"]}, "patterns.0"),
    ({"patterns": []}, "patterns"),
    ({"side": "up"}, "side"),
    ({"age_years": -3}, "age_years"),
    ({"product": "no such"}, "product"),
    ({"indication": "cervical_dystonia"}, "patterns.0"),
])
def test_propose_bad_input_is_422_naming_the_field(api, over, field):
    body = {"patterns": ["flexed_elbow"], "product": "incobotulinumtoxinA",
            "indication": "upper_limb_spasticity", "age_years": 50, "side": "left"}
    body.update(over)
    r = api.post("doc", "/api/v1/patterns/propose", body)
    assert r.status_code == 422, r.text
    assert field in (r.json().get("field") or "") or field in r.json()["detail"]


def test_patterns_need_a_signed_in_user(api):
    assert api.client.get("/api/v1/patterns").status_code == 401
