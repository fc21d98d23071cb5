"""The clinic's vial log and lot search (issue 17 item 9) over the API on real databases
(SQLite and PostgreSQL): one reconstituted vial serves several patients' cycles; draws are
refused past the label's hours (the reference data's number), after expiry, into another
product's cycle and beyond the units left; closing records the units discarded (JW/JZ); a
wrong draw is kept, marked entered in error; "which patients got lot X" answers JSON and a
CSV safe to open in a spreadsheet; patients are refused and other clinics see nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bontrack.reference import default_reference
from tests.api.conftest import uls_cycle

TODAY = date.today()
BOTOX = "onabotulinumtoxinA"


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="seconds")


def clinic_time(hours_ago: float) -> str:
    """A time as typed in the form's datetime-local field: the clinic's wall clock."""
    from zoneinfo import ZoneInfo

    from bontrack.config import clinic_settings

    zone = ZoneInfo(clinic_settings().time_zone)
    return (datetime.now(zone) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M")


def label_hours(product: str = BOTOX) -> float:
    limit = default_reference().products[product].use_within_hours_after_reconstitution
    assert limit is not None
    return float(limit.value)


def cycle(api, patient: str, **over: Any) -> dict[str, Any]:
    body = uls_cycle(**{"date": TODAY.isoformat(), "vials": [], **over})
    if patient == "p2":  # a child of 24 kg: within the weight-based maximum
        for injection in body["injections"]:
            injection["units"] = injection["units"] // 2
    r = api.post("doc", f"/api/v1/patients/{api.ids[patient]}/cycles", body)
    assert r.status_code == 201, r.text
    return r.json()


def open_vial(api, who: str = "nurse", **over: Any) -> dict[str, Any]:
    body = {"product": BOTOX, "size_units": 200, "diluent_ml": 4, "lot": "L-77A",
            "expiry": (TODAY + timedelta(days=200)).isoformat(), "reconstituted_at": ago(1)}
    body.update(over)
    r = api.post(who, "/api/v1/vials", body)
    assert r.status_code == 201, r.text
    return r.json()


def draw(api, vial: int, cycle_id: int, units: Any, who: str = "nurse", **over: Any):
    return api.post(who, f"/api/v1/vials/{vial}/draws",
                    {"cycle_id": cycle_id, "units": units, **over})


def test_one_vial_serves_several_patients_and_shows_units_left(api):
    v = open_vial(api)
    assert v["units_remaining"] == "200" and v["use_within_checked"]
    assert f"{label_hours():g} hours" in v["use_within"]
    c1, c2 = cycle(api, "p1"), cycle(api, "p2")
    r = draw(api, v["id"], c1["id"], 80)
    assert r.status_code == 201, r.text
    r = draw(api, v["id"], c2["id"], "45.5")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["units_drawn"] == "125.5" and out["units_remaining"] == "74.5"
    assert [(d["mrn"], d["units"]) for d in out["draws"]] == [("A-1", "80"), ("A-2", "45.5")]
    assert all(d["time_check"] == "ok" for d in out["draws"])
    listed = api.get("nurse", "/api/v1/vials").json()["items"]
    assert [x["id"] for x in listed] == [v["id"]] and listed[0]["units_remaining"] == "74.5"
    # closing discards what is left: the JW modifier's amount
    r = api.post("nurse", f"/api/v1/vials/{v['id']}/close", {},
                 headers={"If-Match": f'"{out["version"]}"'})
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["units_discarded"] == "74.5"
    assert closed["billing_modifier"] == "JW"
    assert draw(api, v["id"], c1["id"], 1).status_code == 409  # closed: no more draws
    assert api.get("nurse", "/api/v1/vials").json()["items"] == []
    assert len(api.get("nurse", "/api/v1/vials?status=closed").json()["items"]) == 1


def test_a_vial_used_to_the_last_unit_is_closed_with_jz(api):
    v = open_vial(api, size_units=100, diluent_ml=2)
    c = cycle(api, "p1")
    assert draw(api, v["id"], c["id"], 100).status_code == 201
    r = api.post("nurse", f"/api/v1/vials/{v['id']}/close", {"version": 2})
    assert r.status_code == 200, r.text
    assert r.json()["units_discarded"] == "0" and r.json()["billing_modifier"] == "JZ"


def test_drawing_more_than_is_left_is_refused_naming_units(api):
    v = open_vial(api, size_units=100, diluent_ml=2)
    c1, c2 = cycle(api, "p1"), cycle(api, "p2")
    assert draw(api, v["id"], c1["id"], 70).status_code == 201
    r = draw(api, v["id"], c2["id"], 31)
    assert r.status_code == 422 and r.json()["field"] == "units"
    assert "30 U left" in r.json()["detail"]
    assert api.get("nurse", f"/api/v1/vials/{v['id']}").json()["units_remaining"] == "30"


def test_drawing_after_the_labels_hours_is_a_stop_that_cites_the_label(api):
    hours = label_hours()
    v = open_vial(api, reconstituted_at=ago(hours + 2))
    c = cycle(api, "p1")
    r = draw(api, v["id"], c["id"], 50)
    assert r.status_code == 422 and r.json()["field"] == "drawn_at"
    detail = r.json()["detail"]
    assert f"labelled {hours:g} hours" in detail and "Storage of BOTOX" in detail
    assert "administer it within 24 hours" in detail  # the label's quoted words
    # a nurse may not override; a clinician may, with a reason kept on the draw
    reason = {"override_reason": "kept refrigerated, checked with pharmacy"}
    assert draw(api, v["id"], c["id"], 50, **reason).status_code == 403
    r = draw(api, v["id"], c["id"], 50, who="doc", **reason)
    assert r.status_code == 201, r.text
    d = r.json()["draws"][0]
    assert d["time_check"] == "overridden" and d["override_codes"] == ["RECONSTITUTED_TOO_LONG"]
    assert d["override_reason"] == reason["override_reason"]
    # within the hours, no stop
    fresh = open_vial(api, reconstituted_at=ago(hours - 1))
    assert draw(api, fresh["id"], c["id"], 10).status_code == 201


def test_drawing_from_an_expired_vial_is_refused(api):
    v = open_vial(api, expiry=(TODAY - timedelta(days=1)).isoformat(), reconstituted_at=ago(30))
    c = cycle(api, "p1")
    r = draw(api, v["id"], c["id"], 20)
    assert r.status_code == 422 and r.json()["field"] == "expiry"
    assert "expired on" in r.json()["detail"]


def test_opening_a_vial_that_expired_before_reconstitution_is_refused(api):
    r = api.post("nurse", "/api/v1/vials",
                 {"product": BOTOX, "size_units": 100, "lot": "X", "reconstituted_at": ago(1),
                  "expiry": (TODAY - timedelta(days=3)).isoformat()})
    assert r.status_code == 422 and r.json()["field"] == "expiry"
    r = api.post("nurse", "/api/v1/vials",
                 {"product": BOTOX, "size_units": 150, "lot": "X", "reconstituted_at": ago(1),
                  "expiry": (TODAY + timedelta(days=3)).isoformat()})
    assert r.status_code == 422 and r.json()["field"] == "size_units"


def test_units_of_another_product_are_never_drawn_into_a_cycle(api):
    v = open_vial(api, product="abobotulinumtoxinA", size_units=500, diluent_ml=2.5)
    c = cycle(api, "p1")
    r = draw(api, v["id"], c["id"], 100)
    assert r.status_code == 422 and r.json()["field"] == "cycle_id"
    assert "never mixed" in r.json()["detail"]
    assert api.get("doc", f"/api/v1/vials/{v['id']}").json()["draws"] == []


def test_a_product_without_a_cited_time_says_not_checked(api):
    v = open_vial(api, product="rimabotulinumtoxinB", size_units=5000, diluent_ml=None)
    assert v["use_within_checked"] is False and v["use_by"] is None
    assert "not checked" in v["use_within"]


def test_a_wrong_draw_is_kept_entered_in_error_and_its_units_return(api):
    v = open_vial(api, size_units=100, diluent_ml=2)
    c1, c2 = cycle(api, "p1"), cycle(api, "p2")
    wrong = draw(api, v["id"], c1["id"], 60).json()["draws"][0]
    r = api.post("nurse", f"/api/v1/vial-draws/{wrong['id']}/entered-in-error",
                 {"reason": "drawn into the wrong patient's cycle"})
    assert r.status_code == 412  # which version is corrected must be said
    r = api.post("nurse", f"/api/v1/vial-draws/{wrong['id']}/entered-in-error",
                 {"reason": "drawn into the wrong patient's cycle", "version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["units_remaining"] == "100"
    assert draw(api, v["id"], c2["id"], 60).status_code == 201
    now = api.get("nurse", f"/api/v1/vials/{v['id']}").json()
    draws = now["draws"]
    assert [(d["mrn"], d["status"]) for d in draws] == [("A-1", "entered_in_error"),
                                                        ("A-2", "active")]
    assert draws[0]["error_reason"] == "drawn into the wrong patient's cycle"
    r = api.post("nurse", f"/api/v1/vials/{v['id']}/entered-in-error",
                 {"reason": "logged twice", "version": now["version"]})
    assert r.status_code == 409  # an active draw: mark it first
    # the lot search leaves the wrong draw out
    got = api.get("nurse", "/api/v1/lots", params={"lot": "L-77A"}).json()
    assert [i["mrn"] for i in got["items"] if i["source"] == "vial_log"] == ["A-2"]


def test_which_patients_got_a_lot_from_the_log_and_from_cycles(api):
    v = open_vial(api, lot="=HYPERLINK(\"http://x\")")
    c1 = cycle(api, "p1")
    c2 = cycle(api, "p2", vials=[{"size_units": 200, "diluent_ml": 4,
                                  "lot": "=HYPERLINK(\"http://x\")",
                                  "expiry": (TODAY + timedelta(days=90)).isoformat()}])
    assert draw(api, v["id"], c1["id"], 40).status_code == 201
    cycle(api, "p1", vials=[{"size_units": 200, "diluent_ml": 4, "lot": "OTHER"}])
    r = api.get("doc", "/api/v1/lots", params={"lot": " =hyperlink(\"http://x\") "})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["patients"] == 2 and got["total"] == 2
    rows = {(i["source"], i["mrn"]): i for i in got["items"]}
    assert rows["vial_log", "A-1"]["units"] == "40" and rows["vial_log", "A-1"]["clinician"]
    assert rows["cycle_vial", "A-2"]["cycle_id"] == c2["id"]
    assert rows["cycle_vial", "A-2"]["cycle_date"] == TODAY.isoformat()
    # another product's lot of the same name is not this lot
    r = api.get("doc", "/api/v1/lots",
                params={"lot": "=HYPERLINK(\"http://x\")", "product": "abobotulinumtoxinA"})
    assert r.json()["total"] == 0
    r = api.get("doc", "/api/v1/lots.csv", params={"lot": "=HYPERLINK(\"http://x\")"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(r.text)))
    header, body = table[0], table[1:]
    assert len(body) == 2
    lot_cells = [row[header.index("lot")] for row in body]
    assert lot_cells == ["'=HYPERLINK(\"http://x\")"] * 2  # text, never a formula
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)
    assert {row[header.index("mrn")] for row in body} == {"A-1", "A-2"}


def test_patients_are_refused_and_other_clinics_see_nothing(api):
    v = open_vial(api, lot="SHARED")
    c = cycle(api, "p1")
    assert draw(api, v["id"], c["id"], 30).status_code == 201
    for path in ("/api/v1/vials", f"/api/v1/vials/{v['id']}", "/api/v1/lots?lot=SHARED",
                 "/api/v1/lots.csv?lot=SHARED"):
        assert api.get("pat", path).status_code == 403, path
    assert api.post("pat", "/api/v1/vials", {"product": BOTOX, "size_units": 100, "lot": "P",
                                             "expiry": "2030-01-01",
                                             "reconstituted_at": ago(1)}).status_code == 403
    assert api.get("doc_b", f"/api/v1/vials/{v['id']}").status_code == 404
    assert api.get("doc_b", "/api/v1/vials").json()["items"] == []
    assert api.get("doc_b", "/api/v1/lots?lot=SHARED").json()["total"] == 0
    # another clinic's clinician cannot draw from this clinic's vial, nor into its cycles
    assert draw(api, v["id"], c["id"], 1, who="doc_b").status_code == 404
    other = api.post("doc_b", "/api/v1/vials",
                     {"product": BOTOX, "size_units": 100, "lot": "SHARED",
                      "expiry": "2030-01-01", "reconstituted_at": ago(1)}).json()
    r = draw(api, other["id"], c["id"], 1, who="doc_b")
    assert r.status_code == 422 and r.json()["field"] == "cycle_id"


def test_every_vial_write_is_audited(api):
    import sqlalchemy as sa

    v = open_vial(api)
    c = cycle(api, "p1")
    d = draw(api, v["id"], c["id"], 10).json()["draws"][0]
    api.post("nurse", f"/api/v1/vial-draws/{d['id']}/entered-in-error",
             {"reason": "wrong patient", "version": 1})
    api.get("doc", "/api/v1/lots?lot=L-77A")
    engine = sa.create_engine(api.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT action, entity FROM audit_events WHERE entity IN "
                "('clinic_vial', 'vial_draw', 'lot_search') ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("create", "clinic_vial"), ("create", "vial_draw"),
                                        ("entered_in_error", "vial_draw"),
                                        ("read", "lot_search")]


# -- the web pages (TestClient with cookies; the browser test is in tests/web) --------------


def test_web_vial_log_opens_draws_refuses_in_words_and_closes(api, web):
    c1, c2 = cycle(api, "p1"), cycle(api, "p2")
    nurse = web("nurse")
    page = nurse.get("/vials")
    assert page.status_code == 200 and "Open a reconstituted vial" in page.text
    csrf = nurse.cookies.get("bt_csrf")
    r = nurse.post("/vials", data={"csrf": csrf, "product": BOTOX, "size_units": "100",
                                   "diluent_ml": "2", "lot": "WEB-1",
                                   "expiry": (TODAY + timedelta(days=60)).isoformat(),
                                   "reconstituted_at": clinic_time(0.5)})
    assert r.status_code == 303, r.text
    where = r.headers["location"]
    page = nurse.get(where)
    assert page.status_code == 200 and "100 U" in page.text
    assert f"A-1 · {TODAY.isoformat()}" in page.text  # today's cycles to choose from
    assert "Storage of BOTOX" in page.text  # the label's time and its source
    r = nurse.post(f"{where}/draws", data={"csrf": csrf, "cycle_id": str(c1["id"]),
                                           "units": "70"})
    assert r.status_code == 303, r.text
    r = nurse.post(f"{where}/draws", data={"csrf": csrf, "cycle_id": str(c2["id"]),
                                           "units": "31"})
    assert r.status_code == 422 and "30 U left" in r.text and 'value="31"' in r.text
    page = nurse.get(where)
    assert 'id="units-left">30 U<' in page.text
    r = nurse.post(f"{where}/close", data={"csrf": csrf, "version": "2"})
    assert r.status_code == 303, r.text
    assert "30 U discarded" in nurse.get(where).text
    found = nurse.get("/lots?lot=web-1")
    assert found.status_code == 200 and "1 patient" in found.text and "A-1" in found.text
    csv_ = nurse.get("/lots.csv?lot=WEB-1")
    assert csv_.status_code == 200 and "A-1" in csv_.text
    for path in ("/vials", where, "/lots", "/lots?lot=WEB-1", "/lots.csv?lot=WEB-1"):
        assert web("pat").get(path).status_code == 403, path
    assert web("doc_b").get(where).status_code == 404


def test_two_nurses_drawing_the_last_units_at_once_never_overdraw(api):
    """Two draws of 60 U from a 100 U vial at the same moment, each in its own transaction
    (PostgreSQL: the vial row is locked; SQLite: BEGIN IMMEDIATE): one is refused."""
    v = open_vial(api, size_units=100, diluent_ml=2)
    c1, c2 = cycle(api, "p1"), cycle(api, "p2")
    outcomes = [o if o == "drawn" else f"refused {o.field}"
                for o in draws_at_once(api, [(v["id"], c1["id"], 60), (v["id"], c2["id"], 60)])]
    assert sorted(outcomes) == ["drawn", "refused units"]
    assert api.get("nurse", f"/api/v1/vials/{v['id']}").json()["units_remaining"] == "40"


def draws_at_once(api, draws: list[tuple[int, int, int]]) -> list[Any]:
    """Each (vial, cycle, units) drawn by the nurse in its own thread and transaction, all
    released at the same moment; per draw "drawn" or the InvalidRecord that refused it."""
    import threading

    import sqlalchemy as sa

    from bontrack.errors import InvalidRecord
    from bontrack.services import accounts, vial_log
    from bontrack.services.schemas import VialDrawIn
    from bontrack.store.models import User
    from bontrack.store.uow import Database

    db = Database.at(api.url)
    try:
        with db.unit_of_work() as uow:
            nurse = accounts.actor_of(uow.session.scalars(
                sa.select(User).where(User.username == "nurse")).one())
        ref = default_reference()
        barrier = threading.Barrier(len(draws))
        outcomes: list[Any] = []

        def one(vial_id: int, cycle_id: int, units: int) -> None:
            barrier.wait()
            with db.unit_of_work() as uow:
                try:
                    vial_log.draw(uow, nurse, vial_id,
                                  VialDrawIn(cycle_id=cycle_id, units=units), ref)
                    outcomes.append("drawn")
                except InvalidRecord as err:
                    outcomes.append(err)

        threads = [threading.Thread(target=one, args=d) for d in draws]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        db.dispose()
    return outcomes
