"""Concurrent edits give 412, never a lost update; bad input gets problem+json naming the
field, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import uls_cycle


def test_two_clinicians_editing_the_same_patient_never_overwrite_each_other(api):
    p = api.ids["p1"]
    etag = api.get("doc", f"/api/v1/patients/{p}").headers["etag"]
    first = api.patch("doc", f"/api/v1/patients/{p}", {"display_name": "Alex S."},
                      headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    second = api.patch("doc2", f"/api/v1/patients/{p}", {"display_name": "Alexandra S."},
                       headers={"If-Match": etag})
    assert second.status_code == 412
    assert api.get("doc", f"/api/v1/patients/{p}").json()["display_name"] == "Alex S."


def test_an_edit_without_a_version_is_refused(api):
    r = api.patch("doc", f"/api/v1/patients/{api.ids['p1']}", {"display_name": "X Y"})
    assert r.status_code == 412 and r.json()["errors"][0]["field"] == "version"


def test_signing_twice_with_the_same_version_conflicts(api):
    cid = api.post("doc", f"/api/v1/patients/{api.ids['p1']}/cycles", uls_cycle()).json()["id"]
    assert api.post("doc", f"/api/v1/cycles/{cid}/sign",
                    headers={"If-Match": '"1"'}).status_code == 200
    assert api.post("doc2", f"/api/v1/cycles/{cid}/sign",
                    headers={"If-Match": '"1"'}).status_code == 409


BAD = [
    ("post", "/api/v1/patients", {"mrn": "", "display_name": "x", "birth_date": "1990-01-01"},
     "mrn"),
    ("post", "/api/v1/patients", {"mrn": "Z", "display_name": "x", "birth_date": "1990-13-01"},
     "birth_date"),
    ("post", "/api/v1/patients", {"mrn": "Z", "display_name": "x", "birth_date": "1990-01-01",
                                  "flags": ["myastenia"]}, "flags.0"),
    ("post", "/api/v1/patients", {"mrn": "A-1", "display_name": "dup",
                                  "birth_date": "1990-01-01"}, "mrn"),
    ("post", "/api/v1/patients", {"mrn": "Z", "display_name": "x", "birth_date": "1990-01-01",
                                  "shoe": 1}, "shoe"),
    ("post", "/api/v1/patients/{p1}/cycles", uls_cycle(product="Botoks"), "product"),
    ("post", "/api/v1/patients/{p1}/cycles",
     uls_cycle(injections=[{"muscle": "bicep", "side": "left", "units": 10}]),
     "injections.0.muscle"),
    ("post", "/api/v1/patients/{p1}/cycles",
     uls_cycle(injections=[{"muscle": "biceps_brachii", "side": "left", "units": -5}]),
     "injections.0.units"),
    ("post", "/api/v1/patients/{p1}/cycles", uls_cycle(injections=[]), "injections"),
    ("post", "/api/v1/patients/{p2}/cycles", uls_cycle(weight_kg=None), None),
    ("post", "/api/v1/patients/{p1}/outcomes", {"scale": "mas", "value": "1",
                                               "measured_at": "2026-11-24T10:00:00Z"},
     "scale"),
    ("post", "/api/v1/patients/{p1}/side-effects", {"term": "x", "onset": "2026-11-24",
                                                   "severity": "awful"}, "severity"),
    ("post", "/api/v1/patients/{p1}/conditions", {"indication": "neck pain"}, "indication"),
    ("post", "/api/v1/plan-check", {"date": "2026-11-24"}, "patient"),
    ("post", "/api/v1/plan-check", [1, 2], None),
    ("get", "/api/v1/patients?limit=0", None, "limit"),
    ("get", "/api/v1/patients/abc", None, "patient_id"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD,
                         ids=[f"{m} {p} {f}" for m, p, _, f in BAD])
def test_bad_input_is_a_problem_naming_the_field(api, method, path, body, field):
    path = path.format(**api.ids)
    r = api.get("doc", path) if method == "get" else getattr(api, method)("doc", path, body)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == r.status_code and problem["detail"]
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem


def test_malformed_json_and_oversized_bodies(api):
    r = api.client.post(f"/api/v1/patients/{api.ids['p1']}/cycles", content=b"{not json",
                        headers={**api.h("doc"), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(
        "application/problem+json")
    r = api.client.post("/api/v1/plan-check", content=b"x" * 1_100_000,
                        headers={**api.h("doc"), "Content-Type": "application/json"})
    assert r.status_code == 413


def test_a_json_key_given_twice_is_refused_naming_the_key_and_nothing_is_recorded(api):
    path = f"/api/v1/patients/{api.ids['p1']}/cycles"
    before = api.get("doc", path).json()
    body = json.dumps(uls_cycle())[:-1] + ', "product": "Myobloc"}'
    r = api.client.post(path, content=body.encode(),
                        headers={**api.h("doc"), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "product" and "given twice" in r.json()["detail"]
    assert api.get("doc", path).json() == before
    check = api.client.post("/api/v1/plan-check",
                            content=b'{"date": "2026-11-24", "date": "2026-11-25"}',
                            headers={**api.h("doc"), "Content-Type": "application/json"})
    assert check.status_code == 422 and check.json()["field"] == "date"
