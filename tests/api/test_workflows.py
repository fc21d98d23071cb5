"""API workflows per role on real databases: record, check, sign, amend, outcomes, diary."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bontrack.app import create_app as create_whole_app
from tests.api.conftest import uls_cycle


def test_openapi_and_docs_are_served(api):
    assert api.client.get("/openapi.json").json()["info"]["title"] == "bontrack API"
    # /docs and /redoc load their assets from /static (the web layer), so the whole app
    # serves them; the API alone has FastAPI's CDN-based pages switched off.
    assert api.client.get("/docs").status_code == 404
    with TestClient(create_whole_app(api.url)) as whole:
        for page, asset in (("/docs", "/static/vendor/swagger-ui-bundle.js"),
                            ("/redoc", "/static/vendor/redoc.standalone.js")):
            r = whole.get(page)
            assert r.status_code == 200 and asset in r.text
            assert whole.get(asset).status_code == 200
        whole.app.state.bontrack.db.dispose()


def test_plan_check_endpoint_follows_the_contract(api):
    plan = {"date": "2026-11-24", "patient": {"age_years": 10, "weight_kg": 24},
            "product": "Botox", "indication": "upper_limb_spasticity",
            "injections": [{"muscle": "biceps_brachii", "side": "left", "units": 150,
                            "sites": 4}]}
    r = api.post("doc", "/api/v1/plan-check", plan)
    assert r.status_code == 200
    doc = r.json()
    assert doc["verdict"] == "stop"
    assert {"verdict", "product", "indication", "total_units", "findings", "preparation",
            "next_earliest_date"} <= set(doc)


def test_clinician_records_signs_and_amends_a_cycle_keeping_history(api):
    p = api.ids["p1"]
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle())
    assert r.status_code == 201, r.text
    cycle = r.json()
    assert cycle["status"] == "draft" and cycle["total_units"] == 150
    assert r.headers["etag"] == '"1"'
    cid = cycle["id"]

    r = api.post("doc", f"/api/v1/cycles/{cid}/sign", headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status"] == "signed"

    # a signed cycle is locked: a plain update is refused
    r = api.put("doc", f"/api/v1/cycles/{cid}", {**uls_cycle(), "version": 2,
                                                  "reason": "typo in the biceps dose"})
    assert r.status_code == 409

    amended = {**uls_cycle(), "version": 2, "reason": "biceps dose was 90 U, not 100 U"}
    amended["injections"][0]["units"] = 90
    r = api.post("doc", f"/api/v1/cycles/{cid}/amend", amended)
    assert r.status_code == 200, r.text
    assert r.json()["total_units"] == 140 and r.json()["version"] == 3

    full = api.get("doc", f"/api/v1/cycles/{cid}").json()
    assert [rev["version"] for rev in full["revisions"]] == [2]
    assert full["revisions"][0]["snapshot"]["total_units"] == 150
    assert "90 U" in full["revisions"][0]["reason"]


def test_stop_needs_a_clinicians_written_override(api):
    p = api.ids["p2"]  # a 24 kg child: 6 U/kg = 144 U
    body = uls_cycle(injections=[{"muscle": "biceps_brachii", "side": "left", "units": 150,
                                  "sites": 4}])
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", body)
    assert r.status_code == 422
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["field"] == "overrides"
    assert problem["findings"][0]["code"] == "WEIGHT_BASED_MAX_EXCEEDED"

    override = [{"code": "WEIGHT_BASED_MAX_EXCEEDED",
                 "reason": "Severe spasticity; discussed with parents; documented in MDT note"}]
    r = api.post("nurse", f"/api/v1/patients/{p}/cycles", {**body, "overrides": override,
                                                            "clinician_id": api.ids["doc"]})
    assert r.status_code == 403  # a nurse cannot override
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", {**body, "overrides": override})
    assert r.status_code == 201, r.text
    assert r.json()["overrides"][0]["reason"].startswith("Severe spasticity")
    assert any(f["code"] == "WEIGHT_BASED_MAX_EXCEEDED" for f in r.json()["findings"])


def test_history_comes_from_the_store_not_the_request(api):
    p = api.ids["p1"]
    first = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle(date="2026-10-01"))
    assert first.status_code == 201
    assert api.post("doc", f"/api/v1/cycles/{first.json()['id']}/sign",
                    headers={"If-Match": '"1"'}).status_code == 200
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle(date="2026-11-24"))
    assert r.status_code == 422
    assert r.json()["findings"][0]["code"] == "RETREATMENT_TOO_SOON"


def test_nurse_records_vials_in_a_draft_but_cannot_sign(api):
    p = api.ids["p1"]
    r = api.post("nurse", f"/api/v1/patients/{p}/cycles",
                 uls_cycle(clinician_id=api.ids["doc"], vials=[]))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    update = {**uls_cycle(clinician_id=api.ids["doc"]), "version": 1,
              "reason": "vials recorded"}
    r = api.put("nurse", f"/api/v1/cycles/{cid}", update)
    assert r.status_code == 200 and r.json()["vials"][0]["lot"] == "C1"
    r = api.post("nurse", f"/api/v1/cycles/{cid}/sign", headers={"If-Match": '"2"'})
    assert r.status_code == 403


def test_outcomes_goals_side_effects_and_timeline(api):
    p = api.ids["p1"]
    cid = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle()).json()["id"]
    assert api.post("doc", f"/api/v1/cycles/{cid}/sign",
                    headers={"If-Match": '"1"'}).status_code == 200
    r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                 {"scale": "modified_ashworth", "value": "1+", "measured_at":
                  "2026-12-04T10:00:00Z", "muscle": "biceps_brachii", "side": "left",
                  "cycle_id": cid})
    assert r.status_code == 201 and r.json()["value"] == 1.5
    r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                 {"scale": "modified_ashworth", "value": "5", "measured_at":
                  "2026-12-04T10:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "value"
    g = api.post("doc", f"/api/v1/patients/{p}/goals", {"description": "Dress without help"})
    assert g.status_code == 201
    r = api.post("doc", f"/api/v1/goals/{g.json()['id']}/score", {"attainment": 1},
                 headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["attainment"] == 1
    r = api.post("pat", f"/api/v1/patients/{p}/side-effects",
                 {"term": "trouble swallowing", "onset": "2026-11-30", "severity": "moderate"})
    assert r.status_code == 201 and r.json()["urgent"] and "swallowing" in r.json()["red_flags"]
    t = api.get("pat", f"/api/v1/patients/{p}/timeline").json()
    kinds = [e["kind"] for e in t["events"]]
    assert kinds == ["cycle", "side_effect", "outcome"]
    assert [e["date"] for e in t["events"]] == sorted(e["date"] for e in t["events"])
    assert t["next_earliest_date"] == "2027-02-16"


def test_patient_writes_only_their_diary(api):
    p, other = api.ids["p1"], api.ids["p2"]
    entry = {"entry_date": "2026-11-25", "spasm_frequency": 2, "pain": 4}
    assert api.post("pat", f"/api/v1/patients/{p}/diary", entry).status_code == 201
    assert api.post("pat", f"/api/v1/patients/{other}/diary", entry).status_code == 403
    assert api.post("doc", f"/api/v1/patients/{p}/diary", entry).status_code == 403
    assert api.get("doc", f"/api/v1/patients/{p}/diary").json()["total"] == 1


def test_search_is_paginated(api):
    r = api.get("doc", "/api/v1/patients", params={"limit": 1})
    body = r.json()
    assert body["total"] == 2 and len(body["items"]) == 1 and body["next_offset"] == 1
    assert api.get("doc", "/api/v1/patients", params={"q": "alex"}).json()["total"] == 1


def test_entered_in_error_drops_a_cycle_from_history_without_deleting_it(api):
    p = api.ids["p1"]
    cid = api.post("doc", f"/api/v1/patients/{p}/cycles",
                   uls_cycle(date="2026-10-01")).json()["id"]
    r = api.post("doc", f"/api/v1/cycles/{cid}/entered-in-error",
                 {"reason": "recorded on the wrong patient"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status"] == "entered_in_error"
    assert api.get("doc", f"/api/v1/cycles/{cid}").status_code == 200
    assert api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle()).status_code == 201


def test_a_draft_with_a_stop_and_no_local_override_is_not_signed(api):
    """An imported plan keeps overrides made elsewhere as text, never as local overrides
    (tests/fhir/test_import_trust.py); such a draft cannot be signed as given until a
    clinician here records the override. Simulated by removing the override row of a
    draft recorded here (the only way such a draft arises is an import)."""
    p = api.ids["p2"]  # a 24 kg child: 6 U/kg = 144 U
    override = [{"code": "WEIGHT_BASED_MAX_EXCEEDED",
                 "reason": "Severe spasticity; discussed with parents; documented in MDT note"}]
    body = uls_cycle(injections=[{"muscle": "biceps_brachii", "side": "left", "units": 150,
                                  "sites": 4}], overrides=override)
    made = api.post("doc", f"/api/v1/patients/{p}/cycles", body)
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    engine = sa.create_engine(api.url)
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM overrides WHERE cycle_id = :c"), {"c": cid})
    engine.dispose()
    r = api.post("doc", f"/api/v1/cycles/{cid}/sign", headers={"If-Match": '"1"'})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "overrides"
    assert "WEIGHT_BASED_MAX_EXCEEDED" in r.json()["detail"]
    assert api.get("doc", f"/api/v1/cycles/{cid}").json()["status"] == "draft"


def test_an_imported_cycles_provenance_is_shown_as_text_not_as_a_signature(api):
    """What another system said of an imported cycle (fhir/trust.py writes it) reaches the
    API and the cycle page as text; a cycle recorded here has none."""
    p = api.ids["p1"]
    made = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle())
    cid = made.json()["id"]
    assert made.json()["provenance"] == ""
    text = "signed in clinic-x by Dr Lee (dr.lee) at 2026-03-02T10:00:00Z"
    engine = sa.create_engine(api.url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE cycles SET provenance = :t WHERE id = :c"),
                  {"t": text, "c": cid})
    engine.dispose()
    shown = api.get("doc", f"/api/v1/cycles/{cid}").json()
    assert shown["provenance"] == text and shown["signed_by"] is None
    with TestClient(create_whole_app(api.url)) as web:
        page = web.get("/login")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        web.post("/login", data={"username": "doc", "password": "correct horse battery",
                                 "csrf": token})
        html = web.get(f"/cycles/{cid}").text
    assert "Recorded elsewhere" in html and "Dr Lee (dr.lee)" in html
