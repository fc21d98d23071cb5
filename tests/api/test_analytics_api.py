"""Analytics over the REST API: same figures and role rules as the pages."""

from __future__ import annotations

from tests.api.conftest import uls_cycle


def test_clinic_analytics_for_clinicians_and_leads_only(api):
    p1 = api.ids["p1"]
    r = api.post("doc", f"/api/v1/patients/{p1}/cycles", json=uls_cycle(date="2026-03-02"))
    assert r.status_code == 201, r.text
    # a draft is a plan: it is counted once signed (given)
    assert api.get("doc", "/api/v1/clinic/analytics").json()["cycles"] == 0
    assert api.post("doc", f"/api/v1/cycles/{r.json()['id']}/sign",
                    headers={"If-Match": '"1"'}).status_code == 200
    for who in ("doc", "admin"):
        r = api.get(who, "/api/v1/clinic/analytics?from=2026-01-01&to=2026-12-31")
        assert r.status_code == 200, r.text
        assert r.json()["cycles"] == 1
    for who in ("nurse", "pat"):
        assert api.get(who, "/api/v1/clinic/analytics").status_code == 403
    assert api.get("doc_b", "/api/v1/clinic/analytics").json()["cycles"] == 0


def test_bad_clinic_filter_is_a_problem_naming_the_field(api):
    r = api.get("doc", "/api/v1/clinic/analytics?from=2026-02-30")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "from"
    r = api.get("doc", "/api/v1/clinic/analytics?product=Botax")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "product"


def test_patient_analytics_for_the_patient_and_staff_not_other_clinics(api):
    p1 = api.ids["p1"]
    assert api.get("pat", f"/api/v1/patients/{p1}/analytics").status_code == 200
    assert api.get("nurse", f"/api/v1/patients/{p1}/analytics").status_code == 200
    assert api.get("pat2", f"/api/v1/patients/{p1}/analytics").status_code == 403
    assert api.get("doc_b", f"/api/v1/patients/{p1}/analytics").status_code == 404
