"""Planned is not given (issue 13, item 7), over the API and the web pages on real databases
(SQLite and PostgreSQL): a draft never reaches the patient, the analytics or the next-date
logic; staff-only documents are staff-only; a cycle dated after today is a plan; an
indication outside the patient's conditions is a warning; the next date and the overdue
flag are right; Modified Ashworth 1+ and units per site are shown as people read them."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from tests.api.conftest import uls_cycle

DRAFT_DAY = "2026-10-15"


def record(api, who: str, patient: int, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(who, f"/api/v1/patients/{patient}/cycles", body)
    assert r.status_code == 201, r.text
    return r.json()


def sign(api, cycle: dict[str, Any]) -> dict[str, Any]:
    r = api.post("doc", f"/api/v1/cycles/{cycle['id']}/sign",
                 headers={"If-Match": f'"{cycle["version"]}"'})
    assert r.status_code == 200, r.text
    return r.json()


def given_and_draft(api) -> tuple[dict[str, Any], dict[str, Any]]:
    """Patient 1: a signed (given) cycle on 2026-06-01 with a Modified Ashworth 3 -> 1+
    response (biceps 50 U over 3 sites), and a nurse's unsigned draft on 2026-10-15."""
    p = api.ids["p1"]
    assert api.post("doc", f"/api/v1/patients/{p}/conditions",
                    {"indication": "upper_limb_spasticity"}).status_code == 201
    s = sign(api, record(api, "doc", p, uls_cycle(date="2026-06-01", injections=[
        {"muscle": "biceps_brachii", "side": "left", "units": 50, "sites": 3},
        {"muscle": "brachioradialis", "side": "left", "units": 50, "sites": 2}])))
    for when, value in (("2026-05-31T10:00:00Z", "3"), ("2026-06-29T10:00:00Z", "1+")):
        assert api.post("nurse", f"/api/v1/patients/{p}/outcomes", {
            "scale": "modified_ashworth", "value": value, "measured_at": when,
            "muscle": "biceps_brachii", "side": "left", "cycle_id": s["id"]}).status_code == 201
    d = record(api, "nurse", p, uls_cycle(date=DRAFT_DAY, clinician_id=api.ids["doc"],
                                          product="abobotulinumtoxinA", vials=[],
                                          injections=[{"muscle": "brachialis", "side": "left",
                                                       "units": 300, "sites": 2}]))
    assert d["status"] == "draft"
    return s, d




# -- drafts never reach the patient ----------------------------------------------------


def test_a_nurses_draft_never_reaches_the_patients_portal(api, web):
    s, d = given_and_draft(api)
    p = api.ids["p1"]
    t = api.get("pat", f"/api/v1/patients/{p}/timeline").json()
    assert [e["id"] for e in t["events"] if e["kind"] == "cycle"] == [s["id"]]
    assert api.get("pat", f"/api/v1/cycles/{d['id']}").status_code == 404
    assert api.get("pat", f"/api/v1/cycles/{s['id']}").status_code == 200
    listed = api.get("pat", f"/api/v1/patients/{p}/cycles").json()
    assert [c["id"] for c in listed["items"]] == [s["id"]] and listed["total"] == 1
    # staff see the draft, marked as such
    staff = api.get("doc", f"/api/v1/patients/{p}/timeline").json()
    assert {e["status"] for e in staff["events"] if e["kind"] == "cycle"} == {"signed", "draft"}
    # FHIR read as the patient: the draft session is not there
    fhir = {"Authorization": f"Bearer {api.tokens['pat']}"}
    assert api.client.get(f"/fhir/Procedure/{d['id']}", headers=fhir).status_code == 404
    everything = api.client.get(f"/fhir/Patient/{p}/$everything", headers=fhir).json()
    procedures = [e["resource"]["id"] for e in everything["entry"]
                  if e["resource"]["resourceType"] == "Procedure"]
    assert procedures == [str(s["id"])]
    found = api.client.get("/fhir/Procedure", headers=fhir).json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [str(s["id"])]
    # FHIR read as staff: the draft is a session in preparation, never "completed"
    staff_fhir = {"Authorization": f"Bearer {api.tokens['doc']}"}
    proc = api.client.get(f"/fhir/Procedure/{d['id']}", headers=staff_fhir).json()
    assert proc["status"] == "preparation"
    # the web pages the patient sees
    pat = web("pat")
    page = pat.get(f"/patients/{p}").text
    assert DRAFT_DAY not in page and "Dysport" not in page
    assert pat.get(f"/cycles/{d['id']}").status_code == 404
    assert pat.get(f"/cycles/{d['id']}/print").status_code == 404
    assert pat.get(f"/patients/{p}/leaflet").text.count("Dysport") == 0
    assert DRAFT_DAY not in pat.get(f"/patients/{p}/chart.csv", params={
        "scale": "modified_ashworth", "where": "biceps brachii left"}).text
    report = pdf_text(pat.get(f"/patients/{p}/report.pdf").content)
    assert DRAFT_DAY not in report and "2026-06-01" in report


def test_drafts_stay_out_of_the_analytics_and_the_next_dates(api):
    s, d = given_and_draft(api)
    p = api.ids["p1"]
    for who in ("doc", "pat"):
        a = api.get(who, f"/api/v1/patients/{p}/analytics").json()
        assert a["last_given_date"] == "2026-06-01"
        assert a["next_earliest_date"] == s["next_earliest_date"]
        assert {pt["date"] for dose in a["doses"] for pt in dose["points"]} == {"2026-06-01"}
        assert all(c["cycle_id"] != d["id"] for sr in a["series"] for c in sr["cycles"])
        t = api.get(who, f"/api/v1/patients/{p}/timeline").json()
        assert t["next_earliest_date"] == s["next_earliest_date"]
        assert t["last_given_date"] == "2026-06-01"
    clinic = api.get("doc", "/api/v1/clinic/analytics").json()
    assert clinic["cycles"] == 1
    assert {g["product"] for g in clinic["cycles_by_group"]} == {"onabotulinumtoxinA"}
    # a draft signed later counts from then on
    sign(api, {"id": d["id"], "version": d["version"]})
    assert api.get("doc", "/api/v1/clinic/analytics").json()["cycles"] == 2


def test_the_plan_check_does_not_add_a_draft_as_given_but_names_it(api):
    p = api.ids["p1"]
    draft = record(api, "nurse", p, uls_cycle(date="2026-10-01",
                                               clinician_id=api.ids["doc"]))
    # counted as given, the draft would make this RETREATMENT_TOO_SOON (a stop)
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle(date="2026-11-24"))
    assert r.status_code == 201, r.text
    codes = {f["code"]: f for f in r.json()["findings"]}
    assert "RETREATMENT_TOO_SOON" not in codes
    unsigned = codes["UNSIGNED_CYCLE_NOT_COUNTED"]
    assert unsigned["severity"] == "warning" and "2026-10-01" in unsigned["message"]
    assert r.json()["verdict"] == "warning"
    # once signed, it is history
    sign(api, draft)
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle(date="2026-11-25"))
    assert r.status_code == 422
    assert "RETREATMENT_TOO_SOON" in {f["code"] for f in r.json()["findings"]}


def test_imported_history_recorded_as_given_still_counts(api, tmp_path):
    from tests.fhir.test_export import cli
    from tests.fhir.test_import import foreign_record, write_bundle

    r = cli("fhir", "import", str(write_bundle(tmp_path / "x.json", foreign_record())),
            "--user", "doc", "--db", api.url)
    assert r.returncode == 0, r.stderr
    found = api.get("doc", "/api/v1/patients", params={"q": "Robin"}).json()["items"]
    pid = found[0]["id"]
    t = api.get("doc", f"/api/v1/patients/{pid}/timeline").json()
    assert t["last_given_date"] == "2026-03-02"
    a = api.get("doc", f"/api/v1/patients/{pid}/analytics").json()
    assert a["last_given_date"] == "2026-03-02"
    assert [pt["date"] for dose in a["doses"] for pt in dose["points"]] == ["2026-03-02"]


def test_a_session_dated_after_today_cannot_be_imported_as_given(api, tmp_path):
    from tests.fhir.test_export import cli
    from tests.fhir.test_import import foreign_record, write_bundle

    future = foreign_record()
    future[2]["performedDateTime"] = "2030-03-02"
    r = cli("fhir", "import", str(write_bundle(tmp_path / "f.json", future)),
            "--user", "doc", "--db", api.url)
    assert r.returncode == 2
    assert "performedDateTime: 2030-03-02 is after today" in r.stderr
    assert "Traceback" not in r.stderr


# -- staff-only documents --------------------------------------------------------------

ROLES = ("admin", "doc", "nurse", "pat", "pat2", "doc_b")


def _expect(allowed: tuple[str, ...], denied: dict[str, int]) -> dict[str, int]:
    return {who: 200 if who in allowed else denied[who] for who in ROLES}


#: Another patient is refused (403); another clinic's staff are told "not found" (404).
PATIENT_DOC = _expect(("admin", "doc", "nurse", "pat"), {"pat2": 403, "doc_b": 404})
STAFF_DOC = _expect(("admin", "doc", "nurse"), {"pat": 403, "pat2": 403, "doc_b": 404})
CLINIC_DOC = _expect(("admin", "doc", "doc_b"), {"nurse": 403, "pat": 403, "pat2": 403})

WEB_DOCUMENTS: dict[str, tuple[str, dict[str, int], str]] = {
    "visit report": ("/patients/{p}/report.pdf", PATIENT_DOC, "application/pdf"),
    "cycle summary": ("/cycles/{c}/summary.pdf", STAFF_DOC, "application/pdf"),
    "clinic report": ("/clinic/report.pdf", CLINIC_DOC, "application/pdf"),
    "leaflet": ("/patients/{p}/leaflet", PATIENT_DOC, "text/html"),
    "outcome chart CSV": ("/patients/{p}/chart.csv?scale=modified_ashworth"
                          "&where=biceps+brachii+left", PATIENT_DOC, "text/csv"),
    "outcome chart PNG": ("/patients/{p}/chart.png?scale=modified_ashworth"
                          "&where=biceps+brachii+left", PATIENT_DOC, "image/png"),
    "response CSV": ("/patients/{p}/analytics/response.csv", PATIENT_DOC, "text/csv"),
    "dose PNG": ("/patients/{p}/analytics/dose.png", PATIENT_DOC, "image/png"),
    "clinic chart CSV": ("/clinic/dashboard/responders.csv", CLINIC_DOC, "text/csv"),
    "clinic chart PNG": ("/clinic/dashboard/waste.png", CLINIC_DOC, "image/png"),
}

API_DOCUMENTS: dict[str, tuple[str, dict[str, int]]] = {
    "timeline": ("/api/v1/patients/{p}/timeline", PATIENT_DOC),
    "patient analytics": ("/api/v1/patients/{p}/analytics", PATIENT_DOC),
    "signed cycle": ("/api/v1/cycles/{c}", PATIENT_DOC),
    "draft cycle": ("/api/v1/cycles/{d}", _expect(("admin", "doc", "nurse"),
                                                  {"pat": 404, "pat2": 403, "doc_b": 404})),
    "clinic analytics": ("/api/v1/clinic/analytics", CLINIC_DOC),
}


def test_each_document_is_served_only_to_the_roles_it_is_for(api, web):
    s, d = given_and_draft(api)
    ids = {"p": api.ids["p1"], "c": s["id"], "d": d["id"]}
    seen: dict[tuple[str, str], int] = {}
    for name, (path, _, media) in WEB_DOCUMENTS.items():
        for who in ROLES:
            r = web(who).get(path.format(**ids))
            seen[(name, who)] = r.status_code
            if r.status_code == 200:
                assert r.headers["content-type"].startswith(media), (name, who)
    for name, (path, _) in API_DOCUMENTS.items():
        for who in ROLES:
            seen[("api " + name, who)] = api.get(who, path.format(**ids)).status_code
    want = {(n, w): e[w] for n, (_, e, _) in WEB_DOCUMENTS.items() for w in ROLES}
    want |= {("api " + n, w): e[w] for n, (_, e) in API_DOCUMENTS.items() for w in ROLES}
    assert seen == want


# -- a cycle dated after today is a plan -----------------------------------------------


def test_a_cycle_dated_after_today_is_a_plan_and_cannot_be_signed_as_given(api, web):
    p = api.ids["p1"]
    c = record(api, "doc", p, uls_cycle(date="2030-01-15", vials=[]))
    assert c["status"] == "draft"
    future = [f for f in c["findings"] if f["code"] == "CYCLE_DATED_IN_FUTURE"]
    assert future and future[0]["severity"] == "info"
    r = api.post("doc", f"/api/v1/cycles/{c['id']}/sign", headers={"If-Match": '"1"'})
    assert r.status_code == 422
    problem = r.json()
    assert problem["errors"][0]["field"] == "date" and "2030-01-15" in problem["detail"]
    assert api.get("doc", f"/api/v1/cycles/{c['id']}").json()["status"] == "draft"
    # the web page says so and refuses a forged sign request the same way
    doc = web("doc")
    page = doc.get(f"/cycles/{c['id']}").text
    assert "after today" in page and "Sign and lock" not in page
    r = doc.post(f"/cycles/{c['id']}/sign", data={"csrf": doc.cookies.get("bt_csrf"),
                                                 "version": "1"})
    assert r.status_code == 422 and "2030-01-15" in r.text
    # a cycle dated today is signed; a signed cycle cannot be amended into the future
    today = datetime.now().astimezone().date().isoformat()
    now = record(api, "doc", api.ids["p2"], uls_cycle(
        date=today, injections=[{"muscle": "biceps_brachii", "side": "left", "units": 40,
                                 "sites": 2}]))
    signed = sign(api, now)
    amended = {**uls_cycle(date="2030-01-15", vials=[], injections=[
        {"muscle": "biceps_brachii", "side": "left", "units": 40, "sites": 2}]),
        "version": signed["version"], "reason": "moved to the planned date"}
    r = api.post("doc", f"/api/v1/cycles/{now['id']}/amend", amended)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date"


# -- the indication and the patient's conditions ---------------------------------------


def test_an_indication_not_among_the_patients_conditions_is_a_warning(api):
    p = api.ids["p1"]
    cd = {"date": "2026-11-24", "product": "onabotulinumtoxinA",
          "indication": "cervical_dystonia",
          "injections": [{"muscle": "splenius_capitis", "side": "left", "units": 30,
                          "sites": 2}]}
    # no condition recorded: the comparison could not be made, and the result says so
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", cd)
    assert r.status_code == 201, r.text
    assert "CONDITIONS_NOT_RECORDED" in {f["code"] for f in r.json()["findings"]}
    assert api.post("doc", f"/api/v1/patients/{p}/conditions",
                    {"indication": "upper_limb_spasticity"}).status_code == 201
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", {**cd, "date": "2026-11-25"})
    assert r.status_code == 201, r.text
    finding = next(f for f in r.json()["findings"]
                   if f["code"] == "INDICATION_NOT_AMONG_CONDITIONS")
    assert finding["severity"] == "warning" and r.json()["verdict"] in ("warning", "stop")
    assert "cervical dystonia" in finding["message"]
    assert "upper limb spasticity" in finding["message"]
    # the planned indication among the conditions: no such finding
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle(date="2026-11-26"))
    assert not {"INDICATION_NOT_AMONG_CONDITIONS", "CONDITIONS_NOT_RECORDED"} & {
        f["code"] for f in r.json()["findings"]}


# -- next dates and overdue ------------------------------------------------------------


def test_a_patient_with_given_cycles_never_reads_no_earlier_cycle_recorded(api, web,
                                                                            tmp_path):
    """Imported history carries no earliest date: the page said "no earlier cycle
    recorded" for a patient with given cycles."""
    from tests.fhir.test_export import cli
    from tests.fhir.test_import import foreign_record, write_bundle

    path = write_bundle(tmp_path / "x.json", foreign_record())
    assert cli("fhir", "import", str(path), "--user", "doc", "--db", api.url).returncode == 0
    pid = api.get("doc", "/api/v1/patients", params={"q": "Robin"}).json()["items"][0]["id"]
    page = web("doc").get(f"/patients/{pid}").text
    assert "no earlier cycle recorded" not in page
    assert "last cycle given 2026-03-02" in page and "not checked" in page


def test_an_overdue_patient_is_flagged_on_the_page_and_in_the_list(api, web):
    s, _ = given_and_draft(api)  # given 2026-06-01: the earliest date is long past
    p = api.ids["p1"]
    doc = web("doc")
    page = doc.get(f"/patients/{p}").text
    assert "Overdue" in page and f"could be given from {s['next_earliest_date']}" in page
    rows = doc.get("/patients").text.split("<tr>")
    row = next(r for r in rows if f"/patients/{p}\"" in r)
    assert "Overdue" in row
    other = next(r for r in rows if f"/patients/{api.ids['p2']}\"" in r)
    assert "Overdue" not in other and "none given yet" in other


# -- how values are shown --------------------------------------------------------------


def test_modified_ashworth_1_plus_is_shown_as_1_plus_everywhere(api, web):
    s, _ = given_and_draft(api)
    p = api.ids["p1"]
    doc = web("doc")
    page = doc.get(f"/patients/{p}").text
    assert "1+" in page and ">1.5<" not in page
    response_csv = doc.get(f"/patients/{p}/analytics/response.csv").text
    assert ",1+," in response_csv and "1.5" not in response_csv
    chart_csv = doc.get(f"/patients/{p}/chart.csv", params={
        "scale": "modified_ashworth", "where": "biceps brachii left"}).text
    assert ",1+" in chart_csv and "1.5" not in chart_csv
    for pdf in (doc.get(f"/cycles/{s['id']}/summary.pdf"), doc.get(f"/patients/{p}/report.pdf")):
        text = pdf_text(pdf.content)
        assert "1+" in text and "1.5" not in text
    obs = api.client.get("/fhir/Observation", params={"patient": p},
                         headers={"Authorization": f"Bearer {api.tokens['doc']}"}).json()
    shown = [e["resource"]["valueCodeableConcept"]["coding"][0]["display"]
             for e in obs["entry"] if "valueCodeableConcept" in e["resource"]]
    assert "1+" in shown and "1.5" not in shown
    # the stored value is unchanged
    values = api.get("doc", f"/api/v1/patients/{p}/outcomes").json()["items"]
    assert sorted(o["value"] for o in values) == [1.5, 3]


def test_units_per_site_are_shown_to_a_tenth_and_kept_exact(api, web):
    s, _ = given_and_draft(api)
    doc = web("doc")
    page = doc.get(f"/cycles/{s['id']}").text
    assert "16.7" in page and "16.66" not in page
    assert "16.7" in pdf_text(doc.get(f"/cycles/{s['id']}/summary.pdf").content)
    live = doc.post(f"/patients/{api.ids['p1']}/cycles/check", data={
        "csrf": doc.cookies.get("bt_csrf"), "date": "2026-11-24",
        "product": "onabotulinumtoxinA", "indication": "upper_limb_spasticity",
        "muscle": "biceps_brachii", "side": "left", "units": "50", "sites": "3",
        "guidance": "", "vial_size": "100", "vial_diluent": "2"}).text
    assert "16.7" in live and "16.66" not in live
    # exact in JSON and in storage
    check = api.post("doc", "/api/v1/plan-check", {
        "date": "2026-11-24", "patient": {"age_years": 50},
        "product": "Botox", "indication": "upper_limb_spasticity",
        "injections": [{"muscle": "biceps_brachii", "side": "left", "units": 50,
                        "sites": 3}]}).json()
    assert check["preparation"]["per_injection"][0]["units_per_site"] == 16.6667
    stored = api.get("doc", f"/api/v1/cycles/{s['id']}").json()["injections"][0]
    assert (stored["units"], stored["sites"]) == (50, 3)


def pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)



def test_the_cycle_summary_names_the_patient_on_every_page_and_the_signer_with_a_local_time(
        api, web):
    """Issue 17: the patient's name and MRN head every page of the PDF; the signer by name,
    at a readable time (not an ISO timestamp)."""
    import re

    s, _ = given_and_draft(api)
    pdf = web("doc").get(f"/cycles/{s['id']}/summary.pdf").content
    from pypdf import PdfReader

    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    mrn = api.client.get(f"/api/v1/patients/{api.ids['p1']}", headers={
        "Authorization": f"Bearer {api.tokens['doc']}"}).json()["mrn"]
    assert all(f"MRN {mrn}" in page for page in pages)
    text = "\n".join(pages)
    assert re.search(r"Signed by .+ on \d{1,2} \w{3} \d{4}, \d\d:\d\d \w+", text), text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text)
