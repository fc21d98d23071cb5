"""Issue 15, item 1 (dates and ids): every date and time has a plausible, configurable range;
a number is not a date; an id the database cannot hold is 404 or 422, never 5xx. Through the
API on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.api.conftest import uls_cycle

TESTERS_OUTCOME = {"scale": "pain_nrs", "value": "3",
                   "measured_at": "9999-12-31T23:59:59-14:00"}


def fields(r) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in r.json()["errors"]]


def test_the_testers_year_9999_outcome_is_422_naming_measured_at(api):
    p = api.ids["p1"]
    r = api.post("nurse", f"/api/v1/patients/{p}/outcomes", TESTERS_OUTCOME)
    assert fields(r) == ["measured_at"]
    assert "9999-12-31T23:59:59-14:00" in r.text and "not plausible" in r.text
    # nothing was stored, and the patient's reads still work
    assert api.get("nurse", f"/api/v1/patients/{p}/outcomes").json()["total"] == 0
    assert api.get("nurse", f"/api/v1/patients/{p}/timeline").status_code == 200


def test_a_number_is_not_a_birth_date(api):
    for value in (0, 1700000000, "0", "1700000000", 1.5, True):
        r = api.post("doc", "/api/v1/patients", {"mrn": "N-0", "display_name": "Num Ber",
                                                 "birth_date": value})
        assert fields(r) == ["birth_date"], value


@pytest.mark.parametrize("birth", ["9999-12-31", "2099-01-01", "1850-06-01", "0001-01-01"])
def test_birth_dates_in_the_future_or_absurdly_old_are_refused(api, birth):
    r = api.post("doc", "/api/v1/patients", {"mrn": "B-9", "display_name": "Far Away",
                                             "birth_date": birth})
    assert fields(r) == ["birth_date"]
    r = api.patch("doc", f"/api/v1/patients/{api.ids['p1']}", {"birth_date": birth},
                  headers={"If-Match": '"1"'})
    assert fields(r) == ["birth_date"]


def test_events_are_in_the_past_or_today_plans_may_be_ahead(api):
    p = api.ids["p1"]
    far = (date.today() + timedelta(days=40)).isoformat()
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    cases = [
        (f"/api/v1/patients/{p}/outcomes",
         {"scale": "pain_nrs", "value": "3", "measured_at": soon}, "measured_at"),
        (f"/api/v1/patients/{p}/side-effects",
         {"term": "sore arm", "onset": far, "severity": "mild"}, "onset"),
        (f"/api/v1/patients/{p}/diary", {"entry_date": far, "pain": 2}, "entry_date"),
        (f"/api/v1/patients/{p}/side-effects",
         {"term": "sore arm", "onset": "1066-10-14", "severity": "mild"}, "onset"),
        (f"/api/v1/patients/{p}/goals",
         {"description": "Walk again", "target_date": "9999-01-01"}, "target_date"),
        (f"/api/v1/patients/{p}/cycles", uls_cycle(date="9999-12-31"), "date"),
    ]
    for path, body, field in cases:
        who = "pat" if "diary" in path or "side-effects" in path else "doc"
        assert fields(api.post(who, path, body)) == [field], (path, body)
    # the same kinds of record inside the range are accepted
    ok = [(f"/api/v1/patients/{p}/outcomes", {"scale": "pain_nrs", "value": "3",
                                               "measured_at": "2026-11-30T10:00:00+02:00"}),
          (f"/api/v1/patients/{p}/goals", {"description": "Walk again", "target_date": far})]
    for path, body in ok:
        assert api.post("doc", path, body).status_code == 201, body


def test_a_vials_expiry_and_reconstitution_have_ranges(api):
    p = api.ids["p1"]
    bad = uls_cycle(vials=[{"size_units": 200, "diluent_ml": 4, "lot": "C1",
                            "expiry": "9999-12-31"}])
    assert fields(api.post("doc", f"/api/v1/patients/{p}/cycles", bad)) == [
        "vials.0.expiry"]
    bad = uls_cycle(vials=[{"size_units": 200, "diluent_ml": 4, "lot": "C1",
                            "expiry": "2027-06-30",
                            "reconstituted_at": "9999-12-31T23:59:59-14:00"}])
    assert fields(api.post("doc", f"/api/v1/patients/{p}/cycles", bad)) == [
        "vials.0.reconstituted_at"]


def test_the_ranges_are_configurable(api, monkeypatch):
    p = api.ids["p1"]
    ahead = (date.today() + timedelta(days=30)).isoformat()
    goal = {"description": "Walk again", "target_date": ahead}
    monkeypatch.setenv("BONTRACK_PLAN_AHEAD_DAYS", "10")
    assert fields(api.post("doc", f"/api/v1/patients/{p}/goals", goal)) == ["target_date"]
    monkeypatch.setenv("BONTRACK_PLAN_AHEAD_DAYS", "60")
    assert api.post("doc", f"/api/v1/patients/{p}/goals", goal).status_code == 201
    monkeypatch.setenv("BONTRACK_EARLIEST_DATE", "2000-01-01")
    r = api.post("doc", "/api/v1/patients", {"mrn": "E-1", "display_name": "Early Bird",
                                             "birth_date": "1990-01-01"})
    assert fields(r) == ["birth_date"]


@pytest.mark.parametrize("big", [2**31, 2**63, -(2**63) - 1, 10**30])
def test_ids_and_versions_in_a_body_past_what_the_database_holds_are_422(api, big):
    p = api.ids["p1"]
    r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                 {"scale": "pain_nrs", "value": "3", "measured_at": "2026-11-30T10:00:00Z",
                  "cycle_id": big})
    assert fields(r) == ["cycle_id"]
    r = api.post("pat", f"/api/v1/patients/{p}/side-effects",
                 {"term": "sore", "onset": "2026-11-30", "severity": "mild", "cycle_id": big})
    assert fields(r) == ["cycle_id"]
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle(clinician_id=big))
    assert fields(r) == ["clinician_id"]
    r = api.patch("doc", f"/api/v1/patients/{p}", {"version": big, "sex": "male"})
    assert fields(r) == ["version"]


@pytest.mark.parametrize("path", [
    "/api/v1/cycles/9223372036854775808",
    "/api/v1/cycles/2147483648",
    "/api/v1/patients/9223372036854775808",
    "/api/v1/patients/2147483648",
    "/api/v1/patients/-9223372036854775809",
    "/api/v1/patients/99999999999999999999999/outcomes",
    "/api/v1/goals/2147483648/score",
    "/api/v1/patients/2147483648/analytics",
])
def test_ids_the_database_cannot_hold_are_404_or_422_not_5xx(api, path):
    if path.endswith("/score"):
        r = api.post("doc", path, {"attainment": 0})
    else:
        r = api.get("doc", path)
    assert r.status_code in (404, 422), (path, r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("application/problem+json")
