"""The cached timeline is never stale: any write to the record changes what is served."""

from __future__ import annotations

from tests.api.conftest import uls_cycle


def test_timeline_reflects_every_write_immediately(api):
    p = api.ids["p1"]
    first = api.get("doc", f"/api/v1/patients/{p}/timeline").json()
    assert first["events"] == []
    assert api.get("doc", f"/api/v1/patients/{p}/timeline").json() == first  # cached
    cid = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle()).json()["id"]
    after_cycle = api.get("doc", f"/api/v1/patients/{p}/timeline").json()
    assert [e["id"] for e in after_cycle["events"]] == [cid]
    api.post("doc", f"/api/v1/cycles/{cid}/sign", headers={"If-Match": '"1"'})
    signed = api.get("doc", f"/api/v1/patients/{p}/timeline").json()
    assert signed["events"][0]["status"] == "signed"
    before = len(signed["patient"]["weights"])
    api.post("doc", f"/api/v1/patients/{p}/weights", {"measured_on": "2026-11-25",
                                                      "weight_kg": 71})
    assert len(api.get("doc", f"/api/v1/patients/{p}/timeline").json()["patient"][
        "weights"]) == before + 1


def test_cached_timeline_still_checks_access_and_audits(api):
    p = api.ids["p1"]
    assert api.get("doc", f"/api/v1/patients/{p}/timeline").status_code == 200
    assert api.get("pat2", f"/api/v1/patients/{p}/timeline").status_code == 403
    assert api.get("doc_b", f"/api/v1/patients/{p}/timeline").status_code == 404
    import sqlalchemy as sa

    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM audit_events WHERE entity = 'timeline' "
                              "AND patient_id = :p AND outcome = 'ok'"), {"p": p}).scalar()
    engine.dispose()
    assert n == 1
