"""GET /api/v1/patients/{id}/dose-help over real databases (SQLite and PostgreSQL): the
patient's history and the clinic median per product; signed records of the reader's own
clinic only (another clinic's, drafts and cycles entered in error are left out); a muscle
without a label range is said to be not checked; bad parameters are refused naming the
field; a patient may not read the clinic's doses."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import uls_cycle

BICEPS = {"product": "onabotulinumtoxinA", "indication": "upper_limb_spasticity",
          "muscle": "biceps_brachii", "side": "left"}


def given(api, who: str, patient: int, day: str, units: int, product: str =
          "onabotulinumtoxinA", signer: str | None = None) -> dict[str, Any]:
    body = uls_cycle(date=day, product=product, injections=[
        {"muscle": "biceps_brachii", "side": "left", "units": units, "sites": 4}])
    if product != "onabotulinumtoxinA":
        body["vials"] = []
    r = api.post(who, f"/api/v1/patients/{patient}/cycles", body)
    assert r.status_code == 201, r.text
    c = r.json()
    r = api.post(signer or who, f"/api/v1/cycles/{c['id']}/sign",
                 headers={"If-Match": f'"{c["version"]}"'})
    assert r.status_code == 200, r.text
    return r.json()


def adult(api, mrn: str) -> int:
    r = api.post("doc", "/api/v1/patients", {"mrn": mrn, "display_name": f"Test {mrn}",
                                             "birth_date": "1970-01-01"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def help_for(api, patient: int, who: str = "doc", **params: str):
    return api.get(who, f"/api/v1/patients/{patient}/dose-help", params={**BICEPS, **params})


def clinic_records(api) -> dict[str, Any]:
    """Clinic A: patient 1 given 60 U then 100 U (BOTOX), and 300 U of Dysport; three more
    adults 80, 120, 140 U; one of them also 190 U, then marked entered in error; a draft
    of 195 U. Clinic B: 200 U. The clinic A median of BOTOX is 100 U (5 records)."""
    p1 = api.ids["p1"]
    given(api, "doc", p1, "2026-03-01", 60)
    june = given(api, "doc", p1, "2026-06-01", 100)
    for when, value in (("2026-05-31T10:00:00Z", "3"), ("2026-06-29T10:00:00Z", "1+")):
        assert api.post("nurse", f"/api/v1/patients/{p1}/outcomes", {
            "scale": "modified_ashworth", "value": value, "measured_at": when,
            "muscle": "biceps_brachii", "side": "left", "cycle_id": june["id"]}
        ).status_code == 201
    given(api, "doc", p1, "2026-09-07", 300, product="abobotulinumtoxinA")
    others = [adult(api, f"A-D{i}") for i in range(3)]
    for pid, units in zip(others, (80, 120, 140), strict=True):
        given(api, "doc", pid, "2026-04-01", units)
    wrong = given(api, "doc", others[0], "2026-08-01", 190)
    r = api.post("doc", f"/api/v1/cycles/{wrong['id']}/entered-in-error",
                 {"reason": "recorded on the wrong patient"},
                 headers={"If-Match": f'"{wrong["version"]}"'})
    assert r.status_code == 200, r.text
    draft = api.post("doc", f"/api/v1/patients/{others[1]}/cycles", uls_cycle(
        date="2026-09-01", injections=[{"muscle": "biceps_brachii", "side": "left",
                                        "units": 195, "sites": 4}]))
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    given(api, "doc_b", api.ids["pb"], "2026-04-01", 200)
    return {"others": others}


def test_history_and_clinic_median_are_per_product_and_the_clinics_own_signed_records(api):
    clinic_records(api)
    r = help_for(api, api.ids["p1"])
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["product_name"] == "BOTOX (onabotulinumtoxinA)"
    assert h["label"]["checked"] is True and h["label"]["range"] == "60-200 U"
    assert h["label"]["sites"] == "2-4 sites" and h["label"]["source"]["quote"]
    assert [(d["date"], d["units"]) for d in h["history"]] == [
        ("2026-06-01", "100"), ("2026-03-01", "60")]
    assert h["history"][0]["response"].startswith("Modified Ashworth")
    assert "responder" in h["history"][0]["response"]
    assert h["history"][1]["response"].endswith(
        "unknown (no baseline measured since the previous cycle)")
    # the Dysport dose apart, labelled, its own units
    assert [(d["product_name"], d["units"]) for d in h["other_products"]] == [
        ("DYSPORT (abobotulinumtoxinA)", "300")]
    # 60, 80, 100, 120, 140: not the entered-in-error 190, the draft 195, clinic B's 200,
    # nor the 300 U of Dysport
    assert h["clinic"]["median_units"] == "100"
    assert (h["clinic"]["records"], h["clinic"]["patients"]) == (5, 4)
    # clinic B's median is its own one record: too few, no number
    b = help_for(api, api.ids["pb"], who="doc_b").json()
    assert b["clinic"]["median_units"] is None and b["clinic"]["records"] == 1
    assert b["clinic"]["text"].startswith("fewer than 5 records")
    # Dysport's own median: one record, never BOTOX's converted
    d = help_for(api, api.ids["p1"], product="abobotulinumtoxinA").json()
    assert d["clinic"]["records"] == 1 and d["clinic"]["median_units"] is None
    assert [x["units"] for x in d["history"]] == ["300"]


def test_an_entered_in_error_cycle_leaves_the_patients_history(api):
    made = clinic_records(api)
    h = help_for(api, made["others"][0]).json()
    assert [(d["date"], d["units"]) for d in h["history"]] == [("2026-04-01", "80")]


def test_a_muscle_without_a_label_range_says_not_checked(api):
    h = help_for(api, api.ids["p1"], muscle="pronator_teres").json()
    assert h["label"]["checked"] is False and h["label"]["range"] is None
    assert h["label"]["reason"].endswith("not checked")
    assert h["label"]["maxima"] == ["session maximum 400 U"]


def test_a_childs_range_per_kg_uses_the_last_recorded_weight_or_the_weight_given(api):
    p2 = api.ids["p2"]  # born 2016-05-01, 24 kg
    h = help_for(api, p2).json()
    assert h["label"]["population"] == "pediatric"
    assert h["label"]["range"] == "1.5-3 U/kg (36-72 U at 24 kg)"
    assert h["label"]["maxima"] == [
        "session maximum 6 U/kg or 200 U, whichever is lower: 144 U at 24 kg"]
    assert "Weight: the last recorded, 24 kg on " in " ".join(h["notes"])
    h = help_for(api, p2, weight_kg="30").json()
    assert h["label"]["range"] == "1.5-3 U/kg (45-90 U at 30 kg)"
    assert not any(n.startswith("Weight:") for n in h["notes"])


def test_bad_parameters_are_refused_naming_the_field(api):
    p1 = api.ids["p1"]
    for params, field in (({"muscle": "heart"}, "muscle"), ({"product": "nope"}, "product"),
                          ({"indication": "gout"}, "indication"), ({"side": "both"}, "side"),
                          ({"weight_kg": "-3"}, "weight_kg")):
        r = help_for(api, p1, **params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == field, r.text
    r = api.get("doc", f"/api/v1/patients/{p1}/dose-help",
                params={"indication": "upper_limb_spasticity", "muscle": "biceps_brachii"})
    assert r.status_code == 422 and r.json()["field"] == "product"


def test_names_are_read_as_ids_and_access_is_the_readers(api):
    p1 = api.ids["p1"]
    r = help_for(api, p1, product="Botox", muscle="Biceps brachii")
    assert r.status_code == 200 and r.json()["muscle"] == "biceps_brachii"
    assert help_for(api, p1, who="nurse").status_code == 200
    assert help_for(api, p1, who="pat").status_code == 403
    assert help_for(api, p1, who="doc_b").status_code == 404
    assert api.client.get(f"/api/v1/patients/{p1}/dose-help", params=BICEPS
                          ).status_code == 401


def test_the_planners_panel_fragment_shows_the_help_and_says_a_bad_choice_in_the_panel(api,
                                                                                     web):
    clinic_records(api)
    p1 = api.ids["p1"]
    c = web("doc")
    r = c.get(f"/patients/{p1}/dose-help", params={**BICEPS, "weight_kg": ""})
    assert r.status_code == 200, r.text
    assert "Biceps brachii (left) · BOTOX (onabotulinumtoxinA)" in r.text
    assert "60-200 U" in r.text and "2-4 sites" in r.text
    assert "DYSPORT (abobotulinumtoxinA)" in r.text and "not converted" in r.text
    assert "100 U (median of 5 records, 4 patients)" in r.text
    r = c.get(f"/patients/{p1}/dose-help", params={**BICEPS, "muscle": "pronator_teres"})
    assert r.status_code == 200 and "not checked" in r.text
    r = c.get(f"/patients/{p1}/dose-help", params={**BICEPS, "weight_kg": "heavy"})
    assert r.status_code == 200 and 'role="alert"' in r.text and "weight" in r.text
    page = c.get(f"/patients/{p1}/cycles/new")
    assert 'id="dose-help"' in page.text
    assert web("pat").get(f"/patients/{p1}/dose-help", params=BICEPS).status_code == 403
