"""The units drawn from the vial log into a cycle against the cycle's planned total (issue 17,
item 9 follow-up), over the API and the web page on SQLite and PostgreSQL: each draw shows
its cycle's drawn and planned units, the cycle chooser shows what was drawn already, and a
draw that would take the cycle above its plan is the stop DRAW_ABOVE_PLAN — the figures in
its words, a nurse cannot override it, a clinician can with a reason that is kept and
audited. Draws entered in error no longer count."""

from __future__ import annotations

import sqlalchemy as sa

from tests.api.test_vial_log import cycle, draw, draws_at_once, open_vial


def audit_details(api, entity: str) -> list[str]:
    engine = sa.create_engine(api.url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text(
                "SELECT detail FROM audit_events WHERE entity = :e ORDER BY id"), {"e": entity})]
    finally:
        engine.dispose()


def plan_of(vial: dict, cycle_id: int) -> tuple[str, str, str, str, str]:
    (d, *_) = [d for d in reversed(vial["draws"]) if d["cycle_id"] == cycle_id]
    return (d["cycle_planned_units"], d["cycle_drawn_units"], d["cycle_plan"],
            d["cycle_left_to_draw_units"], d["cycle_above_plan_units"])


def test_each_draw_shows_its_cycles_units_drawn_from_the_log_against_the_plan(api):
    c = cycle(api, "p1")  # 150 U planned (100 + 50)
    assert c["total_units"] in (150, "150")
    v1, v2 = open_vial(api), open_vial(api, lot="L-78")
    assert draw(api, v1["id"], c["id"], 80).status_code == 201
    r = draw(api, v2["id"], c["id"], "45.5")
    assert r.status_code == 201, r.text
    # drawn from two vials, counted together for the cycle, in the cycle's product
    assert plan_of(r.json(), c["id"]) == ("150", "125.5", "part", "24.5", "0")
    assert "125.5 U drawn from the vial log of the 150 U planned" in \
        r.json()["draws"][0]["cycle_plan_text"]
    r = draw(api, v1["id"], c["id"], "24.5")
    assert plan_of(r.json(), c["id"]) == ("150", "150", "all", "0", "0")
    # the vial log lists the same figures on every draw of the cycle
    log = api.get("nurse", "/api/v1/vials").json()["items"]
    assert {plan_of(v, c["id"]) for v in log} == {("150", "150", "all", "0", "0")}
    # the audit says where the cycle stands after each draw
    assert "cycle: 150 U drawn from the vial log, as planned (150 U)" in \
        audit_details(api, "vial_draw")[-1]


def test_a_draw_above_the_cycles_plan_is_stopped_with_the_figures(api):
    c = cycle(api, "p1")  # 150 U planned
    v = open_vial(api)
    assert draw(api, v["id"], c["id"], 140).status_code == 201
    r = draw(api, v["id"], c["id"], 20)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["field"] == "units"
    detail = problem["detail"]
    for words in ("20 U more for cycle", "would make 160 U drawn from the vial log",
                  "10 U above the 150 U planned", "140 U drawn already",
                  "amend the cycle's plan", "A clinician may draw anyway"):
        assert words in detail, (words, detail)
    # nothing was saved
    assert api.get("nurse", f"/api/v1/vials/{v['id']}").json()["units_drawn"] == "140"
    # a nurse may not override; a clinician may, with the reason kept and audited
    reason = {"override_reason": "second syringe for the wrist flexors, excess discarded"}
    assert draw(api, v["id"], c["id"], 20, **reason).status_code == 403
    r = draw(api, v["id"], c["id"], 20, who="doc", **reason)
    assert r.status_code == 201, r.text
    d = r.json()["draws"][-1]
    assert d["override_codes"] == ["DRAW_ABOVE_PLAN"]
    assert d["override_reason"] == reason["override_reason"]
    assert d["time_check"] == "ok"  # the label's time is another check, still passed
    assert plan_of(r.json(), c["id"]) == ("150", "160", "above", "0", "10")
    assert "10 U above the 150 U planned" in d["cycle_plan_text"]
    last = audit_details(api, "vial_draw")[-1]
    assert "override DRAW_ABOVE_PLAN: second syringe" in last
    assert "160 U drawn from the vial log: 10 U above the 150 U planned" in last
    # within the plan another cycle is not affected
    other = cycle(api, "p2")  # 75 U planned
    r = draw(api, v["id"], other["id"], 20)
    assert r.status_code == 201 and plan_of(r.json(), other["id"])[2] == "part"


def test_a_draw_entered_in_error_no_longer_counts_against_the_plan(api):
    c = cycle(api, "p2")  # 75 U planned
    v = open_vial(api)
    wrong = draw(api, v["id"], c["id"], 75).json()["draws"][0]
    assert draw(api, v["id"], c["id"], 5).status_code == 422  # the plan is drawn
    r = api.post("nurse", f"/api/v1/vial-draws/{wrong['id']}/entered-in-error",
                 {"reason": "drawn twice by mistake", "version": 1})
    assert r.status_code == 200, r.text
    assert plan_of(r.json(), c["id"])[1:3] == ("0", "none")
    assert draw(api, v["id"], c["id"], 5).status_code == 201


def test_the_vial_page_shows_the_plan_and_the_nurse_sees_the_stop_with_its_figures(api, web):
    c = cycle(api, "p1")  # 150 U planned
    v = open_vial(api)
    assert draw(api, v["id"], c["id"], 100).status_code == 201
    nurse = web("nurse")
    where = f"/vials/{v['id']}"
    page = nurse.get(where).text
    # the chooser says what was drawn already, the draws table the cycle's figures
    assert "150 U planned, 100 U drawn from the log" in page
    assert "100 U of 150 U planned drawn from the log" in page
    r = nurse.post(f"{where}/draws", data={"csrf": nurse.cookies.get("bt_csrf"),
                                           "cycle_id": str(c["id"]), "units": "60"})
    assert r.status_code == 422
    assert "would make 160 U drawn from the vial log, 10 U above the 150 U planned" in r.text
    assert 'role="alert"' in r.text and 'value="60"' in r.text  # the form is kept
    doc = web("doc")
    r = doc.post(f"{where}/draws", data={"csrf": doc.cookies.get("bt_csrf"),
                                         "cycle_id": str(c["id"]), "units": "60",
                                         "override_reason": "dose agreed at the MDT today"})
    assert r.status_code == 303, r.text
    page = doc.get(where).text
    assert "Above the plan" in page
    assert "160 U drawn for this cycle from the log, 10 U more than the 150 U planned" in page
    assert "DRAW_ABOVE_PLAN: dose agreed at the MDT today" in page


def test_two_vials_drawn_into_one_cycle_at_once_never_pass_its_plan_together(api):
    """Two nurses draw 40 U each into one 75 U cycle from two different vials at the same
    moment, each in its own transaction (PostgreSQL: the cycle row is locked; SQLite: BEGIN
    IMMEDIATE): one draw is stopped above the plan."""
    c = cycle(api, "p2")  # 75 U planned
    v1, v2 = open_vial(api), open_vial(api, lot="L-79")
    outcomes = [o if o == "drawn" else f"refused {o.field}: {'above the 75 U' in str(o)}"
                for o in draws_at_once(api, [(v1["id"], c["id"], 40), (v2["id"], c["id"], 40)])]
    assert sorted(outcomes) == ["drawn", "refused units: True"]
    log = api.get("nurse", "/api/v1/vials").json()["items"]
    assert {plan_of(v, c["id"])[1] for v in log if v["draws"]} == {"40"}
