"""The cycle diary (issue 17 item 6) through the API, on SQLite and PostgreSQL: the patient
answers for their own signed cycle, the answers are checked against the injection day,
an amendment keeps the earlier answer, and a reported wear-off changes the duration of
benefit the analysis computes."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import uls_cycle


def signed_cycle(api: Any, patient: str = "p1", **over: Any) -> int:
    r = api.post("doc", f"/api/v1/patients/{api.ids[patient]}/cycles", uls_cycle(**over))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = api.post("doc", f"/api/v1/cycles/{cid}/sign", headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    return int(cid)


def field_of(r: Any) -> str:
    body = r.json()
    return str(body.get("field") or body["errors"][0]["field"])


def test_patient_answers_for_their_signed_cycle_and_staff_read_it(api):
    cid = signed_cycle(api)
    r = api.post("pat", f"/api/v1/cycles/{cid}/diary",
                 {"onset": "date", "onset_date": "2026-11-28", "wore_off": "not_yet",
                  "global_impression": 2, "spasm_frequency": 1, "note": "arm looser"})
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["onset_date"] == "2026-11-28" and a["wore_off"] == "not_yet"
    assert a["global_impression_label"] == "Much improved"
    assert a["triage"]["urgent"] is False and a["status"] == "active"
    seen = api.get("doc", f"/api/v1/cycles/{cid}/diary").json()
    assert seen["current"]["id"] == a["id"] and seen["history"] == []
    assert [x["value"] for x in seen["impression"]["answers"]] == [1, 2, 3, 4, 5, 6, 7]
    assert all(x["source"] for x in seen["impression"]["answers"])


def test_another_patient_staff_and_another_clinic_cannot_answer(api):
    cid = signed_cycle(api)
    answer = {"onset": "not_yet"}
    r = api.post("pat2", f"/api/v1/cycles/{cid}/diary", answer)
    assert r.status_code == 403, r.text
    assert api.get("pat2", f"/api/v1/cycles/{cid}/diary").status_code == 403
    assert api.post("doc", f"/api/v1/cycles/{cid}/diary", answer).status_code == 403
    assert api.get("doc_b", f"/api/v1/cycles/{cid}/diary").status_code == 404


def test_a_draft_cycle_has_no_diary_yet(api):
    r = api.post("doc", f"/api/v1/patients/{api.ids['p1']}/cycles", uls_cycle())
    cid = r.json()["id"]
    # the patient does not see a plan at all
    assert api.post("pat", f"/api/v1/cycles/{cid}/diary",
                    {"onset": "not_yet"}).status_code == 404


def test_answers_before_the_injection_or_out_of_order_are_refused_naming_the_field(api):
    cid = signed_cycle(api)  # given on 2026-11-24
    url = f"/api/v1/cycles/{cid}/diary"
    cases = [
        ({"onset": "date", "onset_date": "2026-11-20"}, "onset_date", "before the injection"),
        ({"onset": "date"}, "onset_date", "give the day"),
        ({"onset": "date", "onset_date": "2026-11-28", "wore_off": "date",
          "wore_off_date": "2026-11-26"}, "wore_off_date", "not after the day"),
        ({"onset": "not_yet", "wore_off": "date", "wore_off_date": "2026-11-30"},
         "wore_off", "cannot have worn off"),
        ({"onset": "date", "onset_date": "2026-11-28", "wore_off": "date",
          "wore_off_date": "2099-01-01"}, "wore_off_date", "future"),
        ({"onset": "no_effect", "global_impression": 9}, "global_impression", "1, 2, 3"),
        ({"onset": "soon"}, "onset", ""),
    ]
    for body, field, words in cases:
        r = api.post("pat", url, body)
        assert r.status_code == 422, (body, r.text)
        assert field_of(r) == field, (body, r.text)
        assert words in r.text, (body, r.text)
    assert api.get("doc", url).json()["current"] is None  # nothing half-saved


def test_amending_keeps_the_earlier_answer_and_needs_the_version_and_a_reason(api):
    cid = signed_cycle(api)
    url = f"/api/v1/cycles/{cid}/diary"
    first = api.post("pat", url, {"onset": "date", "onset_date": "2026-11-28"}).json()
    again = {"onset": "date", "onset_date": "2026-11-28", "wore_off": "date",
             "wore_off_date": "2026-12-04"}
    assert api.post("pat", url, again).status_code == 412  # no version: which one?
    r = api.post("pat", url, {**again, "version": first["version"]})
    assert r.status_code == 422 and field_of(r) == "reason"
    r = api.post("pat", url, {**again, "reason": "it wore off last week"},
                 headers={"If-Match": f'"{first["version"]}"'})
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["replaces_id"] == first["id"]
    seen = api.get("pat", url).json()
    assert seen["current"]["id"] == second["id"]
    old = seen["history"][0]
    assert old["id"] == first["id"] and old["status"] == "amended"
    assert old["replaced_by"] == second["id"] and old["wore_off"] == "not_yet"
    # entered in error: kept, and no current answer is left
    r = api.post("pat", f"/api/v1/cycle-diary/{second['id']}/entered-in-error",
                 {"reason": "wrong cycle", "version": second["version"]})
    assert r.status_code == 200 and r.json()["status"] == "entered_in_error"
    seen = api.get("doc", url).json()
    assert seen["current"] is None and len(seen["history"]) == 2


def test_red_flag_words_are_triaged_as_in_the_diary_and_top_the_clinics_list(api):
    cid = signed_cycle(api)
    r = api.post("pat", f"/api/v1/cycles/{cid}/diary",
                 {"onset": "not_yet", "side_effects": "I am choking on water"})
    assert r.status_code == 201, r.text
    assert r.json()["triage"]["urgent"] is True and "swallowing" in r.json()["red_flags"]
    top = api.get("doc", "/api/v1/clinic/reports").json()["items"][0]
    assert (top["kind"], top["id"], top["level"]) == ("cycle_diary", r.json()["id"], "urgent")
    assert "choking on water" in top["words"]


def biceps_series(api: Any) -> dict[str, Any]:
    a = api.get("doc", f"/api/v1/patients/{api.ids['p1']}/analytics").json()
    return next(s for s in a["series"] if s["scale"] == "modified_ashworth")["cycles"][0]


def test_a_reported_wear_off_ends_the_duration_of_benefit(api):
    p = api.ids["p1"]
    cid = signed_cycle(api)  # 2026-11-24
    for value, at in (("3", "2026-11-20T10:00:00Z"), ("2", "2026-11-30T10:00:00Z")):
        r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                     {"scale": "modified_ashworth", "value": value, "measured_at": at,
                      "muscle": "biceps_brachii", "side": "left"})
        assert r.status_code == 201, r.text
    before = biceps_series(api)
    assert (before["duration_kind"], before["duration_days"]) == ("at_least", 6)
    r = api.post("pat", f"/api/v1/cycles/{cid}/diary",
                 {"onset": "date", "onset_date": "2026-11-27", "wore_off": "date",
                  "wore_off_date": "2026-12-04"})
    assert r.status_code == 201, r.text
    after = biceps_series(api)
    assert (after["duration_kind"], after["duration_days"]) == ("diary", 10)
    # a measured onset wins over the reported one
    assert (after["onset_days"], after["onset_source"]) == (6, "measured")


def test_a_reported_onset_stands_where_nothing_measured_shows_it_and_the_page_says_so(api, web):
    p = api.ids["p1"]
    cid = signed_cycle(api)  # 2026-11-24
    r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                 {"scale": "modified_ashworth", "value": "3",
                  "measured_at": "2026-11-20T10:00:00Z", "muscle": "biceps_brachii",
                  "side": "left"})
    assert r.status_code == 201, r.text
    assert biceps_series(api)["onset_days"] is None
    r = api.post("pat", f"/api/v1/cycles/{cid}/diary",
                 {"onset": "date", "onset_date": "2026-11-27"})
    assert r.status_code == 201, r.text
    c = biceps_series(api)
    assert (c["onset_days"], c["onset_source"], c["duration_kind"]) == (3, "diary", "unknown")
    page = web("doc").get(f"/patients/{p}")
    assert page.status_code == 200 and "3 (reported)" in page.text


def test_reported_wear_offs_give_the_recall_lists_typical_duration(api):
    p = api.ids["p1"]
    first = signed_cycle(api, date="2026-06-01")
    second = signed_cycle(api, date="2026-09-01")
    for value, at in (("3", "2026-05-30"), ("2", "2026-06-15"), ("3", "2026-08-30"),
                      ("2", "2026-09-15")):
        r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                     {"scale": "modified_ashworth", "value": value,
                      "measured_at": f"{at}T10:00:00Z", "muscle": "biceps_brachii",
                      "side": "left"})
        assert r.status_code == 201, r.text

    def basis() -> str:
        items = api.get("doc", "/api/v1/recall").json()["items"]
        return str(next(i for i in items if i["patient_id"] == p)["basis"])

    # measured: cycle 1 back to baseline at 90 days, cycle 2 still better: one duration only
    assert "typical duration of benefit" not in basis()
    for cid, onset, worn in ((first, "2026-06-10", "2026-07-31"),
                             (second, "2026-09-08", "2026-11-10")):
        r = api.post("pat", f"/api/v1/cycles/{cid}/diary",
                     {"onset": "date", "onset_date": onset, "wore_off": "date",
                      "wore_off_date": worn})
        assert r.status_code == 201, r.text
    assert "typical duration of benefit: median 60 days of 2 measured cycles" in basis()
