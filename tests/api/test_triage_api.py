"""Triage through the API on SQLite and PostgreSQL: the contract endpoint, the triage stored
with side effects and diary entries, and the clinic's list (diary red flags at the top)."""

from __future__ import annotations

import pytest


def test_triage_endpoint_answers_the_contract(api):
    r = api.post("pat", "/api/v1/triage",
                 {"text": "trouble swallowing since yesterday, choking on water"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["urgent"] is True and doc["unclear"] is False
    assert [f["id"] for f in doc["flags"]] == ["swallowing"]
    assert doc["advice"].startswith("Seek urgent medical care now")
    r = api.post("doc", "/api/v1/triage", {"text": "eyes feel funny"})
    assert r.json()["unclear"] is True and r.json()["urgent"] is False


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   "}, {}, {"text": "x" * 20_001},
                                  {"text": "choking\u0000"}, {"text": 5}, {"txt": "hives"}])
def test_triage_endpoint_refuses_what_it_cannot_read_with_422_naming_the_field(api, body):
    r = api.post("pat", "/api/v1/triage", body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_triage_endpoint_needs_a_signed_in_user(api):
    assert api.client.post("/api/v1/triage", json={"text": "hives"}).status_code == 401


def test_diary_red_flag_is_answered_stored_and_tops_the_clinics_list(api):
    p = api.ids["p1"]
    # an older, ordinary side effect and a newer harmless diary entry
    assert api.post("pat", f"/api/v1/patients/{p}/side-effects",
                    {"term": "sore arm", "onset": "2026-11-20", "severity": "mild"}
                    ).status_code == 201
    r = api.post("pat", f"/api/v1/patients/{p}/diary",
                 {"entry_date": "2026-11-30", "pain": 3,
                  "side_effects": "trouble swallowing since yesterday, choking on water"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["urgent"] is True and d["red_flags"] == ["swallowing"]
    assert d["triage"]["urgent"] is True
    assert d["triage"]["advice"].startswith("Seek urgent medical care now")
    r = api.post("pat", f"/api/v1/patients/{p}/diary",
                 {"entry_date": "2026-12-01", "note": "a bit weak today"})
    assert r.json()["triage"]["level"] == "unclear" and r.json()["urgent"] is False
    r = api.post("pat", f"/api/v1/patients/{p}/diary",
                 {"entry_date": "2026-12-02", "note": "walked to the shop"})
    assert r.json()["triage"]["level"] == "not_urgent"
    # numbers only, nothing written: nothing to read, not a text the rule could not read
    r = api.post("pat", f"/api/v1/patients/{p}/diary",
                 {"entry_date": "2026-12-02", "pain": 2, "spasm_frequency": 1})
    assert r.json()["triage"]["level"] == "not_urgent" and r.json()["triage"]["unread"] == []
    # the stored result reads back
    listed = api.get("pat", f"/api/v1/patients/{p}/diary").json()["items"]
    assert {e["triage"]["level"] for e in listed} == {"urgent", "unclear", "not_urgent"}

    items = api.get("nurse", "/api/v1/clinic/reports").json()["items"]
    assert [(i["kind"], i["level"]) for i in items] == [
        ("diary", "urgent"), ("diary", "unclear"), ("side_effect", "not_urgent")]
    assert items[0]["red_flags"] == ["swallowing"] and items[0]["patient_id"] == p
    assert "choking on water" in items[0]["words"]
    assert items[1]["possible"] == ["generalised_weakness"]


def test_side_effect_answer_carries_the_triage_and_drooping_eyelids_is_urgent(api):
    p = api.ids["p1"]
    r = api.post("pat", f"/api/v1/patients/{p}/side-effects",
                 {"term": "drooping eyelids", "onset": "2026-11-30", "severity": "moderate"})
    assert r.status_code == 201
    se = r.json()
    assert se["urgent"] and se["red_flags"] == ["drooping_eyelids"]
    assert se["triage"]["flags"][0]["matched"] == "drooping eyelids"
    r = api.post("pat", f"/api/v1/patients/{p}/side-effects",
                 {"term": "no trouble breathing", "onset": "2026-11-30", "severity": "mild"})
    assert r.json()["urgent"] is False and r.json()["triage"]["unclear"] is True
    items = api.get("doc", "/api/v1/clinic/reports").json()["items"]
    assert [i["level"] for i in items] == ["urgent", "unclear"]


def test_clinic_list_is_for_the_clinic_staff_only(api):
    p = api.ids["p1"]
    api.post("pat", f"/api/v1/patients/{p}/diary",
             {"entry_date": "2026-11-30", "side_effects": "seeing double"})
    assert api.get("pat", "/api/v1/clinic/reports").status_code == 403
    assert api.get("doc_b", "/api/v1/clinic/reports").json()["items"] == []
    assert len(api.get("admin", "/api/v1/clinic/reports").json()["items"]) == 1


def test_an_older_red_flag_stays_on_the_list_behind_many_newer_reports(api):
    from datetime import UTC, date, datetime, timedelta

    from bontrack.store.db import make_engine, session_factory, transaction
    from bontrack.store.models import SideEffect

    p, doc = api.ids["p1"], api.ids["doc"]
    engine = make_engine(api.url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with transaction(session_factory(engine)) as s:
        s.add(SideEffect(patient_id=p, term="hives", onset=date(2026, 1, 1), severity="mild",
                         red_flags=["allergic_reaction"], triage_level="urgent",
                         reported_by=doc, reported_at=start))
        s.add_all(SideEffect(patient_id=p, term="sore arm", onset=date(2026, 1, 2),
                             severity="mild", red_flags=[], triage_level="not_urgent",
                             reported_by=doc, reported_at=start + timedelta(days=1, minutes=i))
                  for i in range(201))
    engine.dispose()
    items = api.get("doc", "/api/v1/clinic/reports").json()["items"]
    assert items[0]["words"] == "hives" and items[0]["level"] == "urgent"
    assert len(items) == 201
