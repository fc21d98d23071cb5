"""A goal scored with a quick plain answer (issue 17 item 5), on SQLite and PostgreSQL: the
answer is stored as the level the cited table gives, a bad answer is a 422 naming the field
with nothing saved, the FHIR Goal carries the level, and the goals page shows what each
answer maps to and its source."""

from __future__ import annotations

import pytest

from bontrack.reference.gas_quick import default_gas_quick
from tests.fhir.validator import errors


def new_goal(api) -> dict:  # type: ignore[no-untyped-def]
    p = api.ids["p1"]
    r = api.post("doc", f"/api/v1/patients/{p}/goals",
                 {"description": "Holds a cup with the affected hand", "weight": 2})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize(("answer", "level"), [("partly", -1), ("a_lot_more", 2),
                                               ("no_change_no_ability", -2)])
def test_a_quick_answer_is_stored_as_its_level(api, answer, level):
    goal = new_goal(api)
    r = api.post("doc", f"/api/v1/goals/{goal['id']}/score",
                  {"answer": answer, "version": goal["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["attainment"] == level and r.json()["version"] == goal["version"] + 1
    fhir = api.get("doc", f"/fhir/Goal/{goal['id']}").json()
    assert errors(fhir) == []
    shown = [e for e in fhir["extension"] if e["url"].endswith("gas-attainment")]
    assert [e["valueInteger"] for e in shown] == [level]


def test_a_bad_answer_is_refused_naming_the_field_and_nothing_is_saved(api):
    goal = new_goal(api)
    url = f"/api/v1/goals/{goal['id']}/score"
    for body, field in (({"answer": "mostly", "version": goal["version"]}, "answer"),
                        ({"answer": "partly", "attainment": 0, "version": goal["version"]},
                         "answer"),
                        ({"version": goal["version"]}, "attainment")):
        r = api.post("doc", url, body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == field
    assert "partly" in api.post("doc", url, {"answer": "mostly", "version": 1}).text
    after = next(g for g in api.get("doc", f"/api/v1/patients/{api.ids['p1']}/goals"
                                     ).json()["items"] if g["id"] == goal["id"])
    assert after["attainment"] is None and after["version"] == goal["version"]


def test_an_answer_and_the_same_level_together_are_accepted(api):
    goal = new_goal(api)
    r = api.post("doc", f"/api/v1/goals/{goal['id']}/score",
                 {"answer": "worse", "attainment": -2, "version": goal["version"]})
    assert r.status_code == 200 and r.json()["attainment"] == -2


def test_the_goals_page_offers_the_quick_answers_with_level_and_source(api, web):
    goal = new_goal(api)
    nurse = web("nurse")
    page = nurse.get(f"/patients/{api.ids['p1']}/goals")
    assert page.status_code == 200
    assert 'id="quick-answers-explained"' in page.text and "Turner-Stokes" in page.text
    for a in default_gas_quick().answers:
        assert f'value="{a.id}"' in page.text and a.label in page.text
    assert "Partly achieved <span class=\"muted\">(level -1)</span></label>" in page.text
    r = nurse.post(f"/goals/{goal['id']}/score",
                   data={"csrf": nurse.cookies.get("bt_csrf"), "answer": "a_little_more",
                         "version": str(goal["version"])})
    assert r.status_code == 303, r.text
    after = next(g for g in api.get("doc", f"/api/v1/patients/{api.ids['p1']}/goals"
                                     ).json()["items"] if g["id"] == goal["id"])
    assert after["attainment"] == 1
