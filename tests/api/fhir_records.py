"""A patient record with every kind of data, written through the REST API (so it is
audited and checked like any other), for the FHIR tests."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import uls_cycle


def full_record(api: Any) -> dict[str, int]:
    """p1: a condition, a signed cycle, outcomes, a goal, a side effect, a diary entry;
    p2 (a child): a cycle whose stop finding a clinician overrode with a reason."""
    p1, p2 = api.ids["p1"], api.ids["p2"]
    r = api.post("doc", f"/api/v1/patients/{p1}/conditions",
                 {"indication": "upper_limb_spasticity", "icd10cm": "I69.351",
                  "onset_date": "2025-01-10", "note": "after stroke"})
    assert r.status_code == 201, r.text
    cycle = api.post("doc", f"/api/v1/patients/{p1}/cycles", uls_cycle())
    assert cycle.status_code == 201, cycle.text
    cid = cycle.json()["id"]
    assert api.post("doc", f"/api/v1/cycles/{cid}/sign",
                    headers={"If-Match": '"1"'}).status_code == 200
    for value, when in (("3", "2026-11-20T10:00:00Z"), ("1+", "2026-12-04T10:00:00Z")):
        r = api.post("nurse", f"/api/v1/patients/{p1}/outcomes",
                     {"scale": "modified_ashworth", "value": value, "measured_at": when,
                      "muscle": "biceps_brachii", "side": "left", "cycle_id": cid})
        assert r.status_code == 201, r.text
    r = api.post("nurse", f"/api/v1/patients/{p1}/outcomes",
                 {"scale": "rom_degrees", "value": "35.5", "measured_at":
                  "2026-12-04T10:05:00Z", "region": "elbow extension", "side": "left"})
    assert r.status_code == 201, r.text
    g = api.post("doc", f"/api/v1/patients/{p1}/goals",
                 {"description": "Dress without help", "target_date": "2027-03-01"})
    assert api.post("doc", f"/api/v1/goals/{g.json()['id']}/score", {"attainment": 1},
                    headers={"If-Match": '"1"'}).status_code == 200
    r = api.post("doc", f"/api/v1/patients/{p1}/side-effects",
                 {"term": "trouble swallowing", "onset": "2026-11-30", "severity": "moderate",
                  "cycle_id": cid, "relatedness": "possibly_related"})
    assert r.status_code == 201, r.text
    r = api.post("pat", f"/api/v1/patients/{p1}/diary",
                 {"entry_date": "2026-11-25", "spasm_frequency": 2, "pain": 4,
                  "note": "better grip"})
    assert r.status_code == 201, r.text
    override = [{"code": "WEIGHT_BASED_MAX_EXCEEDED",
                 "reason": "Severe spasticity; discussed with parents; documented in MDT note"}]
    body = uls_cycle(injections=[{"muscle": "biceps_brachii", "side": "left", "units": 150,
                                  "sites": 4, "guidance": "ultrasound"}], overrides=override)
    r = api.post("doc", f"/api/v1/patients/{p2}/cycles", body)
    assert r.status_code == 201, r.text
    return {"cycle": cid, "override_cycle": r.json()["id"]}
