"""A patient's name in parts (issue 18 item 4, US Core): ``family_name`` and ``given_names``
beside the display name, through the API, FHIR read, search, export and import, on SQLite
and PostgreSQL. Patients recorded without parts keep none (nothing is split from the display
name) and are still found by the words of their display name.

The seeded clinic A holds "Alex Synthetic" (A-1) and "Sam Example" (A-2), both without parts.
"""

from __future__ import annotations

import sqlalchemy as sa

from tests.fhir.validator import errors

PATIENTS = "/api/v1/patients"
IMPORT = "/api/v1/fhir/import"


def _new(api, **body):
    r = api.post("doc", PATIENTS, json={"birth_date": "1970-02-03", **body})
    assert r.status_code == 201, r.text
    return r.json()


def _fhir_name(api, pid: int) -> dict:
    res = api.get("doc", f"/fhir/Patient/{pid}").json()
    assert errors(res) == []
    (name,) = res["name"]
    return name


def _field(r) -> str:
    assert r.status_code == 422, r.text
    body = r.json()
    return str(body.get("field") or body["errors"][0]["field"])


def test_a_patient_is_recorded_with_family_and_given_names_and_read_back(api):
    p = _new(api, mrn="NP-1", display_name="Maria José da Silva", family_name="da Silva",
             given_names=["Maria", "José"])
    assert (p["family_name"], p["given_names"]) == ("da Silva", ["Maria", "José"])
    back = api.get("doc", f"{PATIENTS}/{p['id']}").json()
    assert back["display_name"] == "Maria José da Silva"
    assert (back["family_name"], back["given_names"]) == ("da Silva", ["Maria", "José"])
    assert _fhir_name(api, p["id"]) == {"use": "official", "text": "Maria José da Silva",
                                        "family": "da Silva", "given": ["Maria", "José"]}


def test_without_a_display_name_it_is_the_given_names_then_the_family_name(api):
    p = _new(api, mrn="NP-2", family_name="Testperson", given_names=["Ada", "Jo"])
    assert p["display_name"] == "Ada Jo Testperson"
    p = _new(api, mrn="NP-3", family_name="Testperson")
    assert p["display_name"] == "Testperson" and p["given_names"] == []


def test_patients_recorded_without_parts_keep_none_and_export_only_the_text(api):
    back = api.get("doc", f"{PATIENTS}/{api.ids['p1']}").json()
    assert (back["family_name"], back["given_names"]) == (None, [])
    assert _fhir_name(api, api.ids["p1"]) == {"use": "official", "text": "Alex Synthetic"}


def test_bad_name_parts_are_refused_naming_the_field_and_nothing_is_saved(api):
    before = api.get("doc", PATIENTS, params={"limit": 200}).json()["total"]
    cases = [
        ({"display_name": "A B", "family_name": "B\u0000"}, "family_name"),
        ({"display_name": "A B", "family_name": "B", "given_names": ["A", "Eve \u202egnp"]},
         "given_names"),
        ({"display_name": "A B", "given_names": "A"}, "given_names"),
        ({"display_name": "A B", "family_name": "x" * 201}, "family_name"),
        ({"display_name": "A B", "given_names": [""]}, "given_names"),
        ({"display_name": "A B", "given_names": ["A"] * 11}, "given_names"),
        ({}, "display_name"),  # no name at all
    ]
    for i, (body, field) in enumerate(cases):
        r = api.post("doc", PATIENTS, json={"mrn": f"BAD-{i}", "birth_date": "1970-01-01",
                                            **body})
        assert field in _field(r), (body, r.text)
    assert api.get("doc", PATIENTS, params={"limit": 200}).json()["total"] == before


def test_changing_the_parts_is_a_new_version_audited_and_an_empty_part_removes_it(api):
    pid = api.ids["p2"]
    version = api.get("doc", f"{PATIENTS}/{pid}").json()["version"]
    r = api.patch("doc", f"{PATIENTS}/{pid}", json={
        "version": version, "family_name": "Example", "given_names": ["Sam", "Lou"]})
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["family_name"], p["given_names"], p["version"]) == ("Example", ["Sam", "Lou"],
                                                                  version + 1)
    assert p["display_name"] == "Sam Example"  # the parts do not rename the patient
    r = api.patch("doc", f"{PATIENTS}/{pid}", json={"version": version + 1,
                                                     "family_name": "", "display_name": "Lou"})
    assert r.status_code == 200, r.text
    assert (r.json()["family_name"], r.json()["given_names"]) == (None, ["Sam", "Lou"])
    r = api.patch("doc", f"{PATIENTS}/{pid}", json={"version": version + 2,
                                                     "given_names": ["Sam", "\u200bLou"]})
    assert _field(r).startswith("given_names")
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        details = c.execute(sa.text(
            "SELECT detail FROM audit_events WHERE action = 'update' AND entity = 'patient' "
            "AND patient_id = :p ORDER BY id"), {"p": pid}).scalars().all()
    engine.dispose()
    assert details[-2:] == ["changed: family_name, given_names",
                            "changed: display_name, family_name"]


def _names(api, **params: str) -> list[str]:
    r = api.get("doc", "/fhir/Patient", params=params)
    assert r.status_code == 200, r.text
    return sorted(e["resource"]["name"][0]["text"] for e in r.json().get("entry", [])
                  if e["resource"]["resourceType"] == "Patient")


def test_family_and_given_search_the_parts_else_the_words_of_the_display_name(api):
    _new(api, mrn="NP-4", display_name="Wu Mei", family_name="Wu", given_names=["Mei"])
    _new(api, mrn="NP-5", display_name="Jo van Gogh", family_name="van Gogh",
         given_names=["Jo", "Anne"])
    cases = [
        ({"family": "wu"}, ["Wu Mei"]),  # the family name said first is found by its part
        ({"given": "mei"}, ["Wu Mei"]),
        ({"given": "wu"}, []),  # the first word, but not a given name
        ({"family": "van"}, ["Jo van Gogh"]),
        ({"family": "gogh"}, ["Jo van Gogh"]),  # any word of the family name
        ({"given": "anne"}, ["Jo van Gogh"]),  # a second given name, not in the display
        ({"name": "anne"}, ["Jo van Gogh"]),
        ({"family:exact": "van Gogh"}, ["Jo van Gogh"]),
        ({"family:exact": "Gogh"}, []),
        ({"given:exact": "Anne"}, ["Jo van Gogh"]),
        ({"given:contains": "nn"}, ["Jo van Gogh"]),
        ({"family": "synth"}, ["Alex Synthetic"]),  # no parts: a later word...
        ({"given": "alex"}, ["Alex Synthetic"]),  # ...and the first word, as before
        ({"family": "alex"}, []),
        ({"name": "synth"}, ["Alex Synthetic"]),
        ({"family": "example"}, ["Sam Example"]),
        ({"given": "a%"}, []),  # LIKE wildcards are literal in the parts too
    ]
    for params, expected in cases:
        assert _names(api, **params) == expected, params


def test_name_parts_survive_an_export_and_an_import_into_another_clinic(api):
    p = _new(api, mrn="NP-6", display_name="Noa Fictive", family_name="Fictive",
             given_names=["Noa", "Mika"])
    bundle = api.get("doc", f"/fhir/Patient/{p['id']}/$everything").json()
    entries = [{"resource": e["resource"]} for e in bundle["entry"]]
    r = api.post("doc_b", IMPORT, json={"resourceType": "Bundle", "type": "collection",
                                        "entry": entries})
    assert r.status_code == 200, r.text
    found = api.get("doc_b", "/fhir/Patient", params={"identifier": "NP-6"}).json()
    (entry,) = found["entry"]
    assert entry["resource"]["name"] == [{"use": "official", "text": "Noa Fictive",
                                          "family": "Fictive", "given": ["Noa", "Mika"]}]
    again = api.get("doc_b", f"{PATIENTS}/{entry['resource']['id']}").json()
    assert (again["family_name"], again["given_names"]) == ("Fictive", ["Noa", "Mika"])


def _ehr_patient(mrn: str, *names: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Patient", "id": "ehr-1", "birthDate": "1980-05-06",
        "gender": "female", "name": list(names),
        "identifier": [{"system": "http://ehr.example/mrn", "value": mrn}]}}]}


def test_an_ehr_name_is_read_into_its_parts_and_a_text_only_copy_keeps_them(api):
    # the official name is kept (not the first); with no text the display name is built
    r = api.post("doc", IMPORT, json=_ehr_patient(
        "EHR-1", {"use": "nickname", "text": "Kiki"},
        {"use": "official", "family": "Placeholder", "given": ["Rene", "Kim"]}))
    assert r.status_code == 200, r.text
    (pid,) = api.get("doc", PATIENTS, params={"q": "EHR-1"}).json()["items"]
    pid = pid["id"]
    p = api.get("doc", f"{PATIENTS}/{pid}").json()
    assert (p["display_name"], p["family_name"], p["given_names"]) == (
        "Rene Kim Placeholder", "Placeholder", ["Rene", "Kim"])
    # the same name as text only (an EHR that sends no parts): the parts stay
    r = api.post("doc", IMPORT, json=_ehr_patient("EHR-1", {"text": "Rene Kim Placeholder"}))
    assert r.status_code == 200, r.text
    p = api.get("doc", f"{PATIENTS}/{pid}").json()
    assert (p["family_name"], p["given_names"]) == ("Placeholder", ["Rene", "Kim"])
    # a new name as text only: the old parts would contradict it, so they go
    r = api.post("doc", IMPORT, json=_ehr_patient("EHR-1", {"text": "Rene Sample"}))
    assert r.status_code == 200, r.text
    p = api.get("doc", f"{PATIENTS}/{pid}").json()
    assert (p["display_name"], p["family_name"], p["given_names"]) == (
        "Rene Sample", None, [])


def test_an_imported_name_part_breaking_the_api_rules_is_refused_at_its_element(api):
    r = api.post("doc", IMPORT, json=_ehr_patient(
        "EHR-2", {"text": "Eve Sample", "family": "Sample", "given": ["Eve\u202e"]}))
    assert r.status_code == 422, r.text
    paths = [p["path"] for p in r.json()["problems"]]
    assert any(path.startswith("name.given") for path in paths), r.text


# -- the web forms (TestClient with the signed-in cookie; the browser test is
#    tests/web/test_record_browser.py::test_add_a_patient_then_their_weight_condition_and_medicines)


def _form_input(html: str, name: str) -> str:
    import re

    found = re.search(rf'<input id="{name}"[^>]*>', html)
    assert found, name
    return found.group(0)


def test_the_add_patient_form_takes_the_parts_and_builds_the_shown_name(api, web):
    nurse = web("nurse")
    csrf = nurse.cookies.get("bt_csrf")
    page = nurse.get("/patients/new").text
    for label in ("Family name", "Given names", "Name as shown in lists"):
        assert f">{label}" in page, label
    form = {"csrf": csrf, "mrn": "WEB-1", "family_name": "Testperson",
            "given_names": "Ada  Jo", "display_name": "", "birth_date": "1961-03-04",
            "sex": "female"}
    r = nurse.post("/patients/new", data={**form, "given_names": "Ada \u202eJo"})
    assert r.status_code == 422
    assert 'role="alert" id="form-error">Given name 2: contains an invisible' in r.text
    assert 'aria-invalid="true"' in _form_input(r.text, "given_names")
    assert 'aria-invalid' not in _form_input(r.text, "family_name")
    assert 'value="Testperson"' in _form_input(r.text, "family_name")  # kept as typed
    r = nurse.post("/patients/new", data=form)
    assert r.status_code == 303, r.text
    pid = int(r.headers["location"].rsplit("/", 1)[1])
    p = api.get("doc", f"{PATIENTS}/{pid}").json()
    assert (p["display_name"], p["family_name"], p["given_names"]) == (
        "Ada Jo Testperson", "Testperson", ["Ada", "Jo"])


def test_the_details_form_changes_the_parts_without_splitting_a_given_name(api, web):
    p = _new(api, mrn="WEB-2", display_name="Mary Ann Sample", family_name="Sample",
             given_names=["Mary Ann"])
    nurse = web("nurse")
    csrf = nurse.cookies.get("bt_csrf")
    page = nurse.get(f"/patients/{p['id']}/details").text
    assert 'value="Mary Ann"' in _form_input(page, "given_names")
    doc = {"csrf": csrf, "version": str(p["version"]), "display_name": "Mary Ann Sample",
           "birth_date": "1970-02-03", "sex": "unknown", "medications": "",
           "family_name": "Sample-Jones", "given_names": "Mary Ann", "given_was": "Mary Ann"}
    r = nurse.post(f"/patients/{p['id']}/details", data=doc)
    assert r.status_code == 303, r.text
    back = api.get("doc", f"{PATIENTS}/{p['id']}").json()
    assert (back["family_name"], back["given_names"]) == ("Sample-Jones", ["Mary Ann"])
    r = nurse.post(f"/patients/{p['id']}/details", data={
        **doc, "version": str(back["version"]), "family_name": "\u0007"})
    assert r.status_code == 422 and "Family name: contains a control character" in r.text
    assert 'aria-invalid="true"' in _form_input(r.text, "family_name")
    r = nurse.post(f"/patients/{p['id']}/details", data={
        **doc, "version": str(back["version"]), "family_name": "", "given_names": "Mary"})
    assert r.status_code == 303, r.text
    back = api.get("doc", f"{PATIENTS}/{p['id']}").json()
    assert (back["family_name"], back["given_names"]) == (None, ["Mary"])
