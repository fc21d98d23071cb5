"""Issue 15, item 2: an outcome, goal, side effect or diary entry can be marked entered in
error through the API (a reason and the version edited, as for cycles): kept, never
deleted, audited; it then drops out of analytics, the charts' series and the CSV export,
and FHIR exports it with status entered-in-error. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv

import pytest
import sqlalchemy as sa

from bontrack.interop.csv_tables import write_tables
from bontrack.reference import default_reference
from bontrack.store.db import make_engine, session_factory
from tests.api.conftest import uls_cycle

REASON = {"reason": "recorded for the wrong patient"}


def make(api, kind: str) -> tuple[str, int]:
    """One record of ``kind``; returns its API path segment and id."""
    p = api.ids["p1"]
    if kind == "outcomes":
        r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                     {"scale": "pain_nrs", "value": "7", "measured_at": "2026-11-30T10:00:00Z"})
    elif kind == "goals":
        r = api.post("doc", f"/api/v1/patients/{p}/goals", {"description": "Walk to the shop"})
    elif kind == "side-effects":
        r = api.post("pat", f"/api/v1/patients/{p}/side-effects",
                     {"term": "sore arm", "onset": "2026-11-30", "severity": "mild"})
    else:
        r = api.post("pat", f"/api/v1/patients/{p}/diary", {"entry_date": "2026-11-30",
                                                             "pain": 4})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active" and r.json()["version"] == 1
    return kind, r.json()["id"]


@pytest.mark.parametrize("kind", ["outcomes", "goals", "side-effects", "diary"])
def test_a_record_is_marked_entered_in_error_kept_version_checked_and_audited(api, kind):
    seg, rid = make(api, kind)
    path = f"/api/v1/{seg}/{rid}/entered-in-error"
    who = "pat" if kind == "diary" else "doc"
    # the version must be said, and be the current one
    r = api.post(who, path, REASON)
    assert r.status_code == 412 and r.json()["field"] == "version", r.text
    r = api.post(who, path, REASON, headers={"If-Match": '"7"'})
    assert r.status_code == 412, r.text
    assert api.post(who, path, {"reason": "no"}, headers={"If-Match": '"1"'}
                    ).status_code == 422
    r = api.post(who, path, REASON, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "entered_in_error" and body["version"] == 2
    assert body["entered_in_error"]["reason"] == REASON["reason"]
    assert body["entered_in_error"]["at"] and body["entered_in_error"]["by"]
    assert r.headers["ETag"] == '"2"'
    # twice is a conflict, not a second mark
    r = api.post(who, path, {**REASON, "version": 2})
    assert r.status_code == 409, r.text
    # kept: still listed, with its mark
    listing = {"outcomes": "outcomes", "goals": "goals", "side-effects": "side-effects",
               "diary": "diary"}[kind]
    items = api.get("doc", f"/api/v1/patients/{api.ids['p1']}/{listing}").json()["items"]
    assert [i["status"] for i in items if i["id"] == rid] == ["entered_in_error"]
    # audited with its reason
    engine = make_engine(api.url)
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT entity, detail FROM audit_events WHERE action = "
                                 "'entered_in_error' AND entity_id = :i"), {"i": rid}).all()
    engine.dispose()
    entity = {"side-effects": "side_effect", "outcomes": "outcome", "goals": "goal",
              "diary": "diary"}[kind]
    assert (entity, REASON["reason"]) in [tuple(row) for row in rows]


def test_who_may_mark_what(api):
    _, outcome = make(api, "outcomes")
    _, diary = make(api, "diary")
    _, effect = make(api, "side-effects")
    one = {"If-Match": '"1"'}
    # a patient corrects their own report and diary, never a clinician's outcome
    assert api.post("pat", f"/api/v1/outcomes/{outcome}/entered-in-error", REASON,
                    headers=one).status_code == 403
    assert api.post("pat2", f"/api/v1/diary/{diary}/entered-in-error", REASON,
                    headers=one).status_code == 403
    assert api.post("admin", f"/api/v1/side-effects/{effect}/entered-in-error", REASON,
                    headers=one).status_code == 403
    assert api.post("pat", f"/api/v1/side-effects/{effect}/entered-in-error", REASON,
                    headers=one).status_code == 200
    assert api.post("nurse", f"/api/v1/diary/{diary}/entered-in-error", REASON,
                    headers=one).status_code == 200


@pytest.mark.parametrize("kind", ["outcomes", "goals", "side-effects", "diary"])
def test_another_clinics_record_is_not_found_naming_only_the_record(api, kind):
    seg, rid = make(api, kind)
    r = api.post("doc_b", f"/api/v1/{seg}/{rid}/entered-in-error", REASON,
                 headers={"If-Match": '"1"'})
    assert r.status_code == 404, r.text
    assert r.json()["detail"].endswith(f" {rid} not found")
    assert "patient" not in r.json()["detail"]
    r = api.post("doc", f"/api/v1/{seg}/2147483648/entered-in-error", REASON,
                 headers={"If-Match": '"1"'})
    assert r.status_code in (404, 422), r.text


def test_entered_in_error_drops_out_of_analytics_csv_and_is_so_in_fhir(api, tmp_path):
    p = api.ids["p1"]
    cid = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle()).json()["id"]
    assert api.post("doc", f"/api/v1/cycles/{cid}/sign",
                    headers={"If-Match": '"1"'}).status_code == 200
    outcomes = []
    for when, value in (("2026-11-20T10:00:00Z", "8"), ("2026-12-01T10:00:00Z", "3")):
        r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                     {"scale": "pain_nrs", "value": value, "measured_at": when,
                      "cycle_id": cid})
        assert r.status_code == 201, r.text
        outcomes.append(r.json()["id"])
    _, effect = make(api, "side-effects")

    def scales() -> list[str]:
        a = api.get("doc", f"/api/v1/patients/{p}/analytics").json()
        return [s["scale"] for s in a["series"]]

    assert "pain_nrs" in scales()
    for oid in outcomes:
        assert api.post("doc", f"/api/v1/outcomes/{oid}/entered-in-error", REASON,
                        headers={"If-Match": '"1"'}).status_code == 200
    assert api.post("doc", f"/api/v1/side-effects/{effect}/entered-in-error", REASON,
                    headers={"If-Match": '"1"'}).status_code == 200
    assert "pain_nrs" not in scales()
    # FHIR: the Observation says entered-in-error; the AdverseEvent carries the status
    obs = api.get("doc", f"/fhir/Observation/{outcomes[0]}").json()
    assert obs["status"] == "entered-in-error"
    ae = api.get("doc", f"/fhir/AdverseEvent/{effect}").json()
    assert "entered_in_error" in str(ae.get("extension"))
    # CSV: left out
    engine = make_engine(api.url)
    with session_factory(engine)() as s:
        write_tables(s, default_reference(), tmp_path)
    engine.dispose()
    with (tmp_path / "outcomes.csv").open() as f:
        ids = [int(r["outcome_id"]) for r in csv.DictReader(f)]
    with (tmp_path / "side_effects.csv").open() as f:
        effects = [int(r["side_effect_id"]) for r in csv.DictReader(f)]
    assert not set(outcomes) & set(ids) and effect not in effects


def test_the_web_pages_mark_a_record_entered_in_error(api):
    """The goals page's form (CSRF, version, reason) marks the goal, which moves to the
    page's "Entered in error" list."""
    from fastapi.testclient import TestClient

    from bontrack.app import create_app
    from tests.api.conftest import PASSWORD

    _, gid = make(api, "goals")
    app = create_app(api.url)
    with TestClient(app) as c:
        c.get("/login")
        assert c.post("/login", data={"username": "doc", "password": PASSWORD,
                                      "csrf": c.cookies.get("bt_csrf") or ""},
                      follow_redirects=False).status_code == 303
        page = c.get(f"/patients/{api.ids['p1']}/goals").text
        assert f'action="/goals/{gid}/entered-in-error"' in page
        csrf = c.cookies.get("bt_csrf") or ""
        r = c.post(f"/goals/{gid}/entered-in-error", data={"csrf": csrf, "version": "1",
                                                            "reason": "duplicate goal"},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        page = c.get(r.headers["location"]).text
        assert "Entered in error" in page and "duplicate goal" in page
        assert f'action="/goals/{gid}/entered-in-error"' not in page
        r = c.post(f"/goals/{gid}/entered-in-error", data={"csrf": "forged", "version": "2",
                                                            "reason": "duplicate goal"})
        assert r.status_code == 403
    app.state.bontrack.db.dispose()
