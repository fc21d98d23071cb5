"""FHIR search as an EHR uses it (issue 18 item 2): Patient by identifier, name, family,
given, birthdate and gender; _lastUpdated, _summary=count, _elements; unknown parameters
refused with 400 as the CapabilityStatement says, or ignored and reported under
``Prefer: handling=lenient``; writes answer 405 with Allow. SQLite and PostgreSQL.

The seeded clinic A holds "Alex Synthetic" (A-1, female, 1960-04-02) and "Sam Example"
(A-2, male, 2016-05-01); clinic B holds "Kim Other" (B-1, 1970-01-01).
"""

from __future__ import annotations

import pytest

from bontrack.fhir.codes import MRN_SYSTEM

FHIR_JSON = "application/fhir+json"


def ids(api, who: str, **params: str) -> list[str]:
    r = api.get(who, "/fhir/Patient", params=params)
    assert r.status_code == 200, r.text
    return sorted(e["resource"]["name"][0]["text"] for e in r.json().get("entry", [])
                  if e["resource"]["resourceType"] == "Patient")


CASES = [
    ({"identifier": "A-1"}, ["Alex Synthetic"]),
    ({"identifier": f"{MRN_SYSTEM}|A-2"}, ["Sam Example"]),
    ({"identifier": "http://other.example/mrn|A-1"}, []),
    ({"identifier": "A-1,A-2"}, ["Alex Synthetic", "Sam Example"]),
    ({"identifier": "B-1"}, []),  # another clinic's patient is never found
    ({"name": "alex"}, ["Alex Synthetic"]),
    ({"name": "SYNTH"}, ["Alex Synthetic"]),  # any word, case-insensitive, starts with
    ({"name": "ynth"}, []),
    ({"name:contains": "ynth"}, ["Alex Synthetic"]),
    ({"name:exact": "Sam Example"}, ["Sam Example"]),
    ({"name:exact": "sam example"}, []),
    ({"name": "kim"}, []),
    ({"given": "sam"}, ["Sam Example"]),
    ({"given": "example"}, []),
    ({"family": "example"}, ["Sam Example"]),
    ({"family": "sam"}, []),
    ({"name": "%"}, []),  # LIKE wildcards are literal
    ({"name": "_"}, []),
    ({"birthdate": "1960-04-02"}, ["Alex Synthetic"]),
    ({"birthdate": "ge2000"}, ["Sam Example"]),
    ({"birthdate": "lt1970"}, ["Alex Synthetic"]),
    ({"gender": "male"}, ["Sam Example"]),
    ({"gender": "http://hl7.org/fhir/administrative-gender|female"}, ["Alex Synthetic"]),
    ({"gender": "female", "birthdate": "ge2000"}, []),
    ({"_lastUpdated": "ge2000-01-01"}, ["Alex Synthetic", "Sam Example"]),
    ({"_lastUpdated": "lt2000-01-01"}, []),
]


def test_patient_search_parameters(api):
    """The table above, on one copy of the seeded database per engine (each case named in
    the failure)."""
    for params, expected in CASES:
        assert ids(api, "doc", **params) == expected, params


def test_a_patient_finds_only_themself_whatever_they_search(api):
    assert ids(api, "pat", name="sam") == []
    assert ids(api, "pat", gender="female") == ["Alex Synthetic"]


def test_summary_count_gives_the_total_alone(api):
    r = api.get("doc", "/fhir/Patient", params={"_summary": "count"})
    body = r.json()
    assert r.status_code == 200 and body["total"] == 2 and not body.get("entry")
    assert "_summary=count" in body["link"][0]["url"]
    r = api.get("doc", "/fhir/Patient", params={"_summary": "text"})
    assert r.status_code == 400 and "_summary" in r.json()["issue"][0]["diagnostics"]


def test_elements_cuts_resources_down_and_tags_them(api):
    r = api.get("doc", "/fhir/Patient", params={"_elements": "birthDate", "identifier": "A-1"})
    (entry,) = r.json()["entry"]
    res = entry["resource"]
    assert set(res) == {"resourceType", "id", "birthDate", "meta"}
    assert res["meta"]["tag"][0]["code"] == "SUBSETTED"


def test_unknown_parameters_are_400_or_ignored_when_lenient(api):
    r = api.get("doc", "/fhir/Patient", params={"nmae": "alex"})
    assert r.status_code == 400 and r.headers["content-type"].startswith(FHIR_JSON)
    assert "nmae" in r.json()["issue"][0]["diagnostics"]
    r = api.get("doc", "/fhir/Patient", params={"name:fuzzy": "alex"})
    assert r.status_code == 400 and ":fuzzy" in r.json()["issue"][0]["diagnostics"]
    r = api.get("doc", "/fhir/Patient", params={"nmae": "alex", "gender": "male"},
                headers={"Prefer": "handling=lenient"})
    body = r.json()
    assert r.status_code == 200 and body["total"] == 1
    assert "nmae" not in body["link"][0]["url"] and "gender=male" in body["link"][0]["url"]
    outcome = [e["resource"] for e in body["entry"]
               if e["resource"]["resourceType"] == "OperationOutcome"]
    assert outcome and "nmae" in outcome[0]["issue"][0]["diagnostics"]


def test_the_capability_statement_names_every_parameter_search_takes(api):
    cs = api.client.get("/fhir/metadata").json()
    types = {res["type"]: res for res in cs["rest"][0]["resource"]}
    names = {p["name"] for p in types["Patient"]["searchParam"]}
    assert {"identifier", "name", "family", "given", "birthdate", "gender", "_lastUpdated",
            "_summary", "_elements"} <= names
    assert "400" in cs["rest"][0]["documentation"]
    # and every parameter it names is taken
    for p in types["Patient"]["searchParam"]:
        value = {"date": "ge2000", "number": "1", "token": "x", "string": "x",
                 "reference": "Patient/1"}[p["type"]]
        if p["name"] == "_sort":
            value = "_id"
        elif p["name"] == "_summary":
            value = "false"
        r = api.get("doc", "/fhir/Patient", params={p["name"]: value})
        assert r.status_code == 200, (p, r.text)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_answer_405_with_allow(api, method):
    for path in ("/fhir/Patient", f"/fhir/Patient/{api.ids['p1']}", "/fhir/Observation/1",
                 "/fhir"):
        r = api.client.request(method, path, headers=api.h("doc"), json={})
        assert r.status_code == 405, (path, r.status_code)
        assert r.headers["allow"] == "GET"
        assert r.json()["resourceType"] == "OperationOutcome"
    assert api.client.request(method, "/fhir/Nonsense/1", headers=api.h("doc")
                              ).status_code == 404
