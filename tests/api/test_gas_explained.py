"""The goals page explains the GAS T-score (issue 17 item 5, in part), and its worked
figures are the formula's own (clinical/gas.py)."""

from __future__ import annotations

import pytest

from bontrack.clinical.gas import t_score


def test_the_goals_page_explains_the_t_score_with_figures_the_formula_gives(api, web):
    page = web("nurse").get(f"/patients/{api.ids['p1']}/goals")
    assert page.status_code == 200
    assert 'id="t-score-explained"' in page.text and "Kiresuk" in page.text
    assert t_score([(1, 1)]) == pytest.approx(60) and t_score([(-1, 1)]) == pytest.approx(40)
    for level, shown in ((1, "63.7"), (-1, "36.3")):
        assert f"{t_score([(level, 1)] * 3):.1f}" == shown and shown in page.text


def test_a_goal_starts_from_the_library_and_its_words_are_edited_with_the_old_kept(api, web):
    from bontrack.clinical.goal_library import AREAS, statement

    assert [a.id for a in AREAS] == ["passive_function", "active_function", "pain",
                                     "involuntary_movements", "mobility", "impairment"]
    p = api.ids["p1"]
    nurse = web("nurse")
    page = nurse.get(f"/patients/{p}/goals")
    assert "Passive function" in page.text and "ULIS" in page.text
    csrf = nurse.cookies.get("bt_csrf")
    r = nurse.post(f"/patients/{p}/goals", data={"csrf": csrf, "library": "pain:0",
                                                 "weight": "2"})
    assert r.status_code == 303, r.text
    bad = nurse.post(f"/patients/{p}/goals", data={"csrf": csrf, "library": "pain:99"})
    assert bad.status_code == 422
    goal = api.get("doc", f"/api/v1/patients/{p}/goals").json()["items"][0]
    assert goal["description"] == statement("pain:0") and goal["weight"] == 2
    new = "Pain in the left arm no longer wakes her at night, by the next visit."
    r = api.post("doc", f"/api/v1/goals/{goal['id']}/statement", {"description": new})
    assert r.status_code == 412  # which version is edited must be said
    r = api.post("doc", f"/api/v1/goals/{goal['id']}/statement", {"description": new},
                 headers={"If-Match": f'"{goal["version"]}"'})
    assert r.status_code == 200 and r.json()["description"] == new
    assert r.json()["version"] == goal["version"] + 1
    assert api.post("pat", f"/api/v1/goals/{goal['id']}/statement",
                    {"description": "mine now", "version": r.json()["version"]}
                    ).status_code == 403
    assert api.post("doc_b", f"/api/v1/goals/{goal['id']}/statement",
                    {"description": "theirs", "version": 1}).status_code == 404
    import sqlalchemy as sa

    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        details = c.execute(sa.text("SELECT detail FROM audit_events WHERE entity = 'goal' "
                                    "AND action = 'update'")).scalars().all()
    engine.dispose()
    assert f"statement was: {statement('pain:0')}" in details
    # the web form edits too
    r = nurse.post(f"/goals/{goal['id']}/statement",
                   data={"csrf": csrf, "description": "Sleeps through the night.",
                         "version": str(goal["version"] + 1)})
    assert r.status_code == 303
    assert "Sleeps through the night." in nurse.get(f"/patients/{p}/goals").text
