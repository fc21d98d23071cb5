"""Recall and the next visit (issue 17 item 4) over the API on real databases (SQLite and
PostgreSQL): booking refused before the earliest safe date unless a clinician gives a
reason; rescheduling and cancelling keep every booking; the patient sees their own next
visit and downloads it as iCalendar; the clinic's recall list is staff-only, per clinic,
and says how each expected date was computed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bontrack.icalendar import properties
from tests.api.conftest import uls_cycle

TODAY = date.today()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def given_cycle(api, patient: int, when: str) -> dict[str, Any]:
    r = api.post("doc", f"/api/v1/patients/{patient}/cycles", uls_cycle(date=when))
    assert r.status_code == 201, r.text
    c = r.json()
    r = api.post("doc", f"/api/v1/cycles/{c['id']}/sign",
                 headers={"If-Match": f'"{c["version"]}"'})
    assert r.status_code == 200, r.text
    return r.json()


def user_id(api, username: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(api.url)
    try:
        with engine.connect() as c:
            return int(c.execute(sa.text("SELECT id FROM users WHERE username = :u"),
                                 {"u": username}).scalar_one())
    finally:
        engine.dispose()


def test_booking_before_the_earliest_safe_date_needs_a_clinicians_reason(api):
    p, doc = api.ids["p1"], api.ids["doc"]
    c = given_cycle(api, p, day(-30))
    earliest = c["next_earliest_date"]
    assert earliest == day(-30 + 84)  # 12 weeks (the label's interval)
    soon = {"visit_date": day(10), "clinician_id": doc}
    r = api.post("nurse", f"/api/v1/patients/{p}/visits", soon)
    assert r.status_code == 422 and r.json()["field"] == "visit_date"
    assert earliest in r.json()["detail"] and "12 weeks" in r.json()["detail"]
    r = api.post("nurse", f"/api/v1/patients/{p}/visits",
                 {**soon, "override_reason": "patient travels abroad for months"})
    assert r.status_code == 403  # a nurse does not decide to book early
    r = api.post("doc", f"/api/v1/patients/{p}/visits",
                 {**soon, "override_reason": "patient travels abroad for months"})
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["status"] == "booked" and v["earliest_date"] == earliest
    assert v["override_reason"] == "patient travels abroad for months"
    # a second open booking is refused
    r = api.post("doc", f"/api/v1/patients/{p}/visits",
                 {"visit_date": day(90), "clinician_id": doc})
    assert r.status_code == 409


def test_rescheduling_and_cancelling_keep_every_booking(api):
    p, doc = api.ids["p1"], api.ids["doc"]
    given_cycle(api, p, day(-100))
    r = api.post("nurse", f"/api/v1/patients/{p}/visits",
                 {"visit_date": day(7), "clinician_id": doc, "note": "bring splint"})
    assert r.status_code == 201, r.text
    first = r.json()
    doc2, nurse, doc_b = (user_id(api, n) for n in ("doc2", "nurse", "doc_b"))
    for not_a_clinician in (nurse, doc_b):  # a nurse; another clinic's clinician
        r = api.post("nurse", f"/api/v1/patients/{p}/next-visit/reschedule",
                     {"clinician_id": not_a_clinician, "reason": "other doctor"},
                     headers={"If-Match": '"1"'})
        assert r.status_code == 422 and r.json()["field"] == "clinician_id", r.text
    r = api.post("nurse", f"/api/v1/patients/{p}/next-visit/reschedule",
                 {"visit_date": day(14), "clinician_id": doc2, "reason": "clinic closed"},
                 headers={"If-Match": '"1"'})
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["replaces_id"] == first["id"] and second["sequence"] == 1
    assert second["clinician_id"] == doc2 and second["visit_date"] == day(14)
    assert second["note"] == "bring splint"
    stale = api.post("nurse", f"/api/v1/patients/{p}/next-visit/cancel",
                     {"reason": "no longer needed"}, headers={"If-Match": '"2"'})
    assert stale.status_code == 412  # the new booking is version 1: a stale edit is refused
    r = api.post("nurse", f"/api/v1/patients/{p}/next-visit/cancel", {"reason": "moved away"},
                 headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    h = api.get("doc", f"/api/v1/patients/{p}/visits").json()
    assert h["next_visit"] is None
    assert [x["status"] for x in h["history"]] == ["cancelled", "replaced"]
    assert h["history"][1]["ended_reason"] == "clinic closed"
    assert api.get("pat", f"/api/v1/patients/{p}/next-visit.ics").status_code == 404
    again = api.post("nurse", f"/api/v1/patients/{p}/next-visit/cancel", {"reason": "twice"})
    assert again.status_code == 404  # nothing booked is left to cancel


def test_the_patient_sees_their_next_visit_and_downloads_it_as_icalendar(api):
    p, doc = api.ids["p1"], api.ids["doc"]
    given_cycle(api, p, day(-100))
    r = api.post("doc", f"/api/v1/patients/{p}/visits",
                 {"visit_date": day(5), "clinician_id": doc, "note": "fasting; no, really"})
    assert r.status_code == 201, r.text
    mine = api.get("pat", f"/api/v1/patients/{p}/visits")
    assert mine.status_code == 200 and mine.json()["next_visit"]["visit_date"] == day(5)
    assert api.get("pat2", f"/api/v1/patients/{p}/visits").status_code == 403
    assert api.get("doc_b", f"/api/v1/patients/{p}/visits").status_code == 404
    assert api.post("pat", f"/api/v1/patients/{p}/visits",
                    {"visit_date": day(6), "clinician_id": doc}).status_code == 403
    r = api.get("pat", f"/api/v1/patients/{p}/next-visit.ics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    raw = r.content
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    props = dict(properties(raw.decode()))
    assert props["DTSTART;VALUE=DATE"] == day(5).replace("-", "")
    assert props["UID"].endswith("@bontrack") and props["DTSTAMP"].endswith("Z")
    assert "fasting\\; no\\, really" in props["DESCRIPTION"]
    assert api.get("pat2", f"/api/v1/patients/{p}/next-visit.ics").status_code == 403


def test_recall_list_is_per_clinic_staff_only_and_says_how_each_date_was_computed(api):
    p1, p2, doc = api.ids["p1"], api.ids["p2"], api.ids["doc"]
    for when in (day(-400), day(-280), day(-150)):  # intervals of 120 and 130 days
        given_cycle(api, p1, when)
    r = api.get("doc", "/api/v1/recall")
    assert r.status_code == 200, r.text
    rows = {x["patient_id"]: x for x in r.json()["items"]}
    assert set(rows) == {p1}  # p2 has no given cycle; Clinic B's patients never appear
    row = rows[p1]
    assert row["last_given_date"] == day(-150)
    assert row["expected_date"] == day(-150 + 120)
    assert "interval between given cycles" in row["basis"]
    assert row["status"] == "overdue" and row["days_overdue"] == 20
    assert api.get("nurse", "/api/v1/recall").status_code == 200
    assert api.get("pat", "/api/v1/recall").status_code == 403
    assert api.get("doc_b", "/api/v1/recall").json()["items"] == []
    assert api.get("doc", "/api/v1/recall?sort=bogus").status_code == 422
    assert api.post("doc", f"/api/v1/patients/{p1}/visits",
                    {"visit_date": day(3), "clinician_id": doc}).status_code == 201
    booked = api.get("doc", "/api/v1/recall?status=booked").json()
    assert [x["patient_id"] for x in booked["items"]] == [p1]
    assert booked["items"][0]["visit_date"] == day(3)
    _ = p2


def test_a_patient_without_an_own_duration_is_said_to_have_none(api):
    p = api.ids["p1"]
    given_cycle(api, p, day(-100))
    row = api.get("doc", "/api/v1/recall").json()["items"][0]
    assert row["expected_date"] is None and row["basis"].startswith("not known")
    assert row["status"] == "due" and row["earliest_date"] == day(-16)


# -- the web pages (TestClient with cookies; the browser test is in tests/web) --------------




def test_web_books_refuses_too_early_in_words_and_shows_the_patient(api, web):
    p, doc = api.ids["p1"], api.ids["doc"]
    given_cycle(api, p, day(-30))
    nurse = web("nurse")
    page = nurse.get(f"/patients/{p}/next-visit")
    assert page.status_code == 200 and "No visit is booked" in page.text
    assert day(54) in page.text and "12 weeks" in page.text  # the limit and its source
    csrf = nurse.cookies.get("bt_csrf")
    r = nurse.post(f"/patients/{p}/next-visit",
                   data={"csrf": csrf, "visit_date": day(10), "clinician_id": str(doc)})
    assert r.status_code == 422 and "earliest safe date" in r.text and day(54) in r.text
    r = nurse.post(f"/patients/{p}/next-visit",
                   data={"csrf": csrf, "visit_date": day(60), "clinician_id": str(doc),
                         "note": "bring the splint"})
    assert r.status_code == 303, r.text
    mine = web("pat").get(f"/patients/{p}")
    assert mine.status_code == 200 and day(60) in mine.text and "next-visit.ics" in mine.text
    ics = web("pat").get(f"/patients/{p}/next-visit.ics")
    assert ics.status_code == 200 and b"DTSTART;VALUE=DATE:" + day(60).replace(
        "-", "").encode() in ics.content
    assert web("pat").get("/recall").status_code == 403
    listing = web("doc").get("/recall?sort=status")
    assert listing.status_code == 200 and "Booked" in listing.text
    csv_ = web("nurse").get("/recall.csv")
    assert csv_.status_code == 200 and csv_.text.splitlines()[0].startswith("mrn,name,")
    assert "A-1" in csv_.text and day(60) in csv_.text
    r = nurse.post(f"/patients/{p}/next-visit/cancel", data={"csrf": csrf, "reason": "no"})
    assert r.status_code == 422 and "reason" in r.text.lower()
    r = nurse.post(f"/patients/{p}/next-visit/cancel",
                   data={"csrf": csrf, "reason": "patient asked", "version": "1"})
    assert r.status_code == 303
    assert "cancelled" in nurse.get(f"/patients/{p}/next-visit").text
