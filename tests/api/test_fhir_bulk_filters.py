"""Issue 18, item 3: Bulk Data $export takes ``_since`` and ``_type``, answers
``Prefer: handling=lenient``, and exports a Group (a clinic's patients) through
``Group/[id]/$export``; the Group is read at ``/fhir/Group/[id]``; the CapabilityStatement
says so. Same clinic and role rules as the rest of /fhir. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.api.fhir_records import full_record
from tests.fhir.validator import errors, model_errors

FHIR_JSON = "application/fhir+json"
LENIENT = {"Prefer": "respond-async, handling=lenient"}


def is_outcome(r, status: int) -> bool:
    return (r.status_code == status and r.headers["content-type"].startswith(FHIR_JSON)
            and r.json()["resourceType"] == "OperationOutcome")


def kick_off(api, who: str, path: str = "/fhir/$export", **kw):
    r = api.get(who, path, **kw)
    assert r.status_code == 202, r.text
    return r.headers["Content-Location"].replace("http://testserver", "")


def finished(api, who: str, status_url: str) -> dict:
    deadline = time.monotonic() + 60
    while (s := api.get(who, status_url)).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert s.status_code == 200, s.text
    return s.json()


def download(api, who: str, item: dict) -> list[dict]:
    f = api.get(who, item["url"].replace("http://testserver", ""))
    assert f.status_code == 200, f.text
    return [json.loads(line) for line in f.text.splitlines()]


def export(api, who: str = "doc", path: str = "/fhir/$export", **kw
           ) -> tuple[dict, dict[str, list[dict]]]:
    """Run an export to its end: the manifest and each output file's resources by type."""
    manifest = finished(api, who, kick_off(api, who, path, **kw))
    files = {o["type"]: download(api, who, o) for o in manifest["output"]}
    for o in manifest["output"]:
        assert o["count"] == len(files[o["type"]]) > 0
    return manifest, files


def ids(resources: list[dict]) -> set[str]:
    return {r["id"] for r in resources}


def instant_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def clinic_of(api, patient: str) -> int:
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        clinic = c.execute(sa.text("SELECT clinic_id FROM patients WHERE id = :p"),
                           {"p": api.ids[patient]}).scalar_one()
    engine.dispose()
    return int(clinic)


def job_count(api) -> int:
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one()
    engine.dispose()
    return int(n)


@pytest.fixture
def exports(api, tmp_path):
    api.client.app.state.fhir_jobs.root = tmp_path / "exports"
    return api


# -- _since -------------------------------------------------------------------------------

def test_since_exports_what_changed_after_it_new_and_amended_and_nothing_older(exports):
    api = exports
    full_record(api)
    p1, p2 = api.ids["p1"], api.ids["p2"]
    old = api.post("nurse", f"/api/v1/patients/{p1}/outcomes",
                   {"scale": "modified_ashworth", "value": "2", "muscle": "biceps_brachii",
                    "side": "left", "measured_at": "2026-11-01T10:00:00Z"})
    assert old.status_code == 201, old.text
    time.sleep(0.05)
    cut = instant_now()
    time.sleep(0.05)
    # after the cut: an older outcome amended (entered in error), a new condition, a new
    # outcome measured before the cut, and a change to p2's demographics
    r = api.post("doc", f"/api/v1/outcomes/{old.json()['id']}/entered-in-error",
                 {"reason": "recorded for the wrong muscle"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    new = api.post("doc", f"/api/v1/patients/{p2}/conditions",
                   {"indication": "upper_limb_spasticity", "icd10cm": "I69.351",
                    "onset_date": "2025-02-10"})
    assert new.status_code == 201, new.text
    # entered after the cut, measured before it: found by the time it was recorded
    late = api.post("nurse", f"/api/v1/patients/{p2}/outcomes",
                    {"scale": "modified_ashworth", "value": "1", "muscle": "biceps_brachii",
                     "side": "right", "measured_at": "2026-11-02T10:00:00Z"})
    assert late.status_code == 201, late.text
    version = api.get("doc", f"/api/v1/patients/{p2}").json()["version"]
    r = api.patch("doc", f"/api/v1/patients/{p2}", {"display_name": "Sam Renamed"},
                  headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.text

    _, everything = export(api)
    manifest, files = export(api, params={"_since": cut})
    assert set(files) == {"Patient", "Condition", "Observation"}, manifest["output"]
    assert ids(files["Patient"]) == {str(p2)}
    assert files["Patient"][0]["name"][0]["text"] == "Sam Renamed"
    assert ids(files["Condition"]) == {str(new.json()["id"])}
    assert ids(files["Observation"]) == {str(old.json()["id"]), str(late.json()["id"])}
    amended = next(o for o in files["Observation"] if o["id"] == str(old.json()["id"]))
    assert amended["status"] == "entered-in-error"
    since = datetime.fromisoformat(cut.replace("Z", "+00:00"))
    for resources in files.values():
        for res in resources:
            assert datetime.fromisoformat(res["meta"]["lastUpdated"]) > since
    # the older records are in the full export and not in this one
    assert len(everything["Observation"]) > len(files["Observation"])
    assert str(p1) in ids(everything["Patient"])
    assert "Encounter" in everything and "Encounter" not in files
    # the next incremental export starts from this one's transactionTime: nothing new
    manifest, files = export(api, params={"_since": manifest["transactionTime"]
                                          .replace("+00:00", "Z")})
    assert files == {} and manifest["output"] == [] and manifest["error"] == []


def test_a_since_before_every_record_gives_the_same_files_as_none(exports):
    """The _since path (patients found by their changed rows, resources kept by their
    meta.lastUpdated) drops nothing: byte for byte the files of a full export."""
    api = exports
    full_record(api)
    whole, _ = export(api)
    since, _ = export(api, params={"_since": "2000-01-01T00:00:00+01:00"})
    assert [(o["type"], o["count"]) for o in whole["output"]] == [
        (o["type"], o["count"]) for o in since["output"]]
    for a, b in zip(whole["output"], since["output"], strict=True):
        fa = api.get("doc", a["url"].replace("http://testserver", "")).content
        fb = api.get("doc", b["url"].replace("http://testserver", "")).content
        assert fa == fb, a["type"]


@pytest.mark.parametrize("bad", [
    "2026-01-01",                   # a date, not an instant
    "2026-01-01T10:00:00",          # no time zone
    "2026-01-01T10:00Z",            # no seconds
    "2026-02-30T10:00:00Z",         # no such day
    "2026-01-01T10:00:00 01:00",    # '+' sent unencoded (a space once decoded)
    "yesterday",
    "9999-12-31T23:59:59-14:00",    # year 10000 in UTC (issue 17, F7: the job failed, 500)
    "0001-01-01T00:00:00+14:00",    # year 0 in UTC
])
def test_a_since_that_is_not_an_instant_is_refused_naming_it(exports, bad):
    api = exports
    for headers in ({}, LENIENT):  # lenient does not widen an unreadable filter
        r = api.get("doc", "/fhir/$export", params={"_since": bad}, headers=headers)
        assert is_outcome(r, 400), r.text
        issue = r.json()["issue"][0]
        assert issue["expression"] == ["_since"] and "_since" in issue["diagnostics"]
    r = api.post("doc", "/fhir/$export", {"resourceType": "Parameters", "parameter": [
        {"name": "_since", "valueInstant": bad}]})
    assert is_outcome(r, 400) and r.json()["issue"][0]["expression"] == ["_since"]
    assert job_count(api) == 0


def test_since_in_a_posted_parameters_resource(exports):
    api = exports
    full_record(api)
    r = api.post("doc", "/fhir/$export", {"resourceType": "Parameters", "parameter": [
        {"name": "_since", "valueInstant": "2999-01-01T00:00:00Z"},
        {"name": "_type", "valueString": "Patient"}]})
    assert r.status_code == 202, r.text
    url = r.headers["Content-Location"].replace("http://testserver", "")
    assert finished(api, "doc", url)["output"] == []


# -- _type and handling=lenient ------------------------------------------------------------

def test_type_gives_only_the_files_of_those_types(exports, tmp_path):
    api = exports
    full_record(api)
    for params in ({"_type": "Patient,Observation"},
                   [("_type", "Observation"), ("_type", "Patient")]):
        manifest, files = export(api, params=params)
        assert [o["type"] for o in manifest["output"]] == ["Patient", "Observation"]
        assert all(r["resourceType"] == t for t, rs in files.items() for r in rs)
        job = manifest["output"][0]["url"].split("/$export-files/")[1].split("/")[0]
        on_disk = {p.name for p in (tmp_path / "exports" / job).iterdir()}
        assert on_disk == {"Patient.ndjson", "Observation.ndjson"}
        r = api.get("doc", f"/fhir/$export-files/{job}/Encounter.ndjson")
        assert is_outcome(r, 404)
        assert is_outcome(api.get("doc", f"/fhir/$export-files/{job}/OperationOutcome.ndjson"),
                          404)


def test_an_unknown_type_or_parameter_is_refused_unless_lenient(exports):
    api = exports
    full_record(api)
    r = api.get("doc", "/fhir/$export", params={"_type": "Patient,Flag"})
    assert is_outcome(r, 400)
    assert r.json()["issue"][0]["expression"] == ["_type"]
    assert "Flag" in r.json()["issue"][0]["diagnostics"]
    r = api.get("doc", "/fhir/$export", params={"_typeFilter": "Patient?gender=male"})
    assert is_outcome(r, 400) and r.json()["issue"][0]["expression"] == ["_typeFilter"]
    r = api.get("doc", "/fhir/$export", params={"_outputFormat": "text/csv"})
    assert is_outcome(r, 400) and r.json()["issue"][0]["expression"] == ["_outputFormat"]
    assert job_count(api) == 0

    manifest, files = export(api, params={"_type": "Patient,Flag,Basic",
                                          "_elements": "id"}, headers=LENIENT)
    assert list(files) == ["Patient"] and len(files["Patient"]) == 2
    assert "name" in files["Patient"][0]  # _elements was ignored, not applied
    [error] = manifest["error"]
    assert error["type"] == "OperationOutcome" and error["count"] == 2
    outcomes = download(api, "doc", error)
    said = [o["issue"][0]["diagnostics"] for o in outcomes]
    assert all(o["resourceType"] == "OperationOutcome" and not errors(o) for o in outcomes)
    assert any("_elements" in d for d in said) and any("Flag,Basic" in d for d in said)
    # the error file is as private as the others
    url = error["url"].replace("http://testserver", "")
    for who in ("doc2", "nurse", "doc_b", "pat"):
        assert is_outcome(api.get(who, url), 404), who
    # only unknown types, leniently: nothing exported, and why
    manifest, files = export(api, params={"_type": "Flag"}, headers=LENIENT)
    assert files == {} and manifest["error"][0]["count"] == 1


# -- Group ----------------------------------------------------------------------------------

def test_a_clinic_is_read_as_a_group_of_its_patients(exports):
    api = exports
    a, b = clinic_of(api, "p1"), clinic_of(api, "pb")
    for who in ("doc", "nurse", "admin"):
        r = api.get(who, f"/fhir/Group/{a}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(FHIR_JSON)
        g = r.json()
        assert errors(g) == [], errors(g)
        assert g["type"] == "person" and g["actual"] is True and g["quantity"] == 2
        assert {m["entity"]["reference"] for m in g["member"]} == {
            f"Patient/{api.ids['p1']}", f"Patient/{api.ids['p2']}"}
    g = api.get("doc_b", f"/fhir/Group/{b}").json()
    assert [m["entity"]["reference"] for m in g["member"]] == [f"Patient/{api.ids['pb']}"]


def test_another_clinics_group_is_not_found_and_a_patient_may_not_list_the_clinic(exports):
    api = exports
    a, b = clinic_of(api, "p1"), clinic_of(api, "pb")
    for path in (f"/fhir/Group/{b}", f"/fhir/Group/{b}/$export", "/fhir/Group/999999",
                 "/fhir/Group/999999/$export", "/fhir/Group/x1/$export",
                 "/fhir/Group/99999999999999999999"):
        r = api.get("doc", path)
        assert is_outcome(r, 404), (path, r.text)
        assert "Kim Other" not in r.text
    r = api.post("doc", f"/fhir/Group/{b}/$export", {"resourceType": "Parameters"})
    assert is_outcome(r, 404)
    assert is_outcome(api.get("doc_b", f"/fhir/Group/{a}"), 404)
    assert is_outcome(api.get("pat", f"/fhir/Group/{a}"), 403)
    assert is_outcome(api.get("nurse", f"/fhir/Group/{a}/$export"), 403)
    assert is_outcome(api.get("pat", f"/fhir/Group/{a}/$export"), 403)
    assert is_outcome(api.client.get(f"/fhir/Group/{a}"), 401)
    r = api.client.post(f"/fhir/Group/{a}", headers=api.h("doc"), json={})
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert job_count(api) == 0
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT action, entity, outcome FROM audit_events "
                                 "WHERE entity = 'fhir:Group'")).all()
    engine.dispose()
    assert ("get", "fhir:Group", "denied") in rows


def test_a_group_export_holds_only_that_clinics_patients(exports):
    api = exports
    full_record(api)
    a, b = clinic_of(api, "p1"), clinic_of(api, "pb")
    mine = {f"Patient/{api.ids['p1']}", f"Patient/{api.ids['p2']}"}
    manifest, files = export(api, path=f"/fhir/Group/{a}/$export")
    assert f"/fhir/Group/{a}/$export" in manifest["request"]
    assert ids(files["Patient"]) == {str(api.ids["p1"]), str(api.ids["p2"])}
    for t, resources in files.items():
        for res in resources:
            subject = res.get("subject") or res.get("patient")
            if subject is not None:
                assert subject["reference"] in mine, (t, res["id"])
    manifest, files = export(api, "doc_b", path=f"/fhir/Group/{b}/$export",
                             params={"_type": "Patient"})
    assert ids(files["Patient"]) == {str(api.ids["pb"])}
    # with POSTed parameters, _since and _type alike
    r = api.post("doc", f"/fhir/Group/{a}/$export", {"resourceType": "Parameters",
                 "parameter": [{"name": "_type", "valueString": "Patient"}]})
    assert r.status_code == 202, r.text
    url = r.headers["Content-Location"].replace("http://testserver", "")
    assert [o["type"] for o in finished(api, "doc", url)["output"]] == ["Patient"]
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        details = c.execute(sa.text("SELECT detail FROM audit_events WHERE action = 'export' "
                                    "AND entity = 'fhir:bulk'")).scalars().all()
    engine.dispose()
    assert any(f"group={a}" in d for d in details)


# -- CapabilityStatement ------------------------------------------------------------------

def test_the_capability_statement_lists_the_group_and_the_exports_it_serves(exports):
    api = exports
    cs = api.client.get("/fhir/metadata").json()
    assert model_errors(cs) == []
    rest = cs["rest"][0]
    types = {res["type"]: res for res in rest["resource"]}
    group = types["Group"]
    assert group["interaction"] == [{"code": "read"}]
    assert group["operation"][0]["definition"] == (
        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export")
    patient_ops = {o["name"]: o for o in types["Patient"]["operation"]}
    assert patient_ops["export"]["definition"].endswith("/patient-export")
    assert rest["operation"][0]["definition"].endswith("/OperationDefinition/export")
    for doc in (group["operation"][0]["documentation"], rest["operation"][0]["documentation"]):
        assert "_since" in doc and "_type" in doc and "handling=lenient" in doc
    # and each is served
    a = clinic_of(api, "p1")
    assert api.get("doc", f"/fhir/Group/{a}").status_code == 200
    for path in ("/fhir/$export", "/fhir/Patient/$export", f"/fhir/Group/{a}/$export"):
        finished(api, "doc", kick_off(api, "doc", path, params={
            "_type": "Patient", "_since": "2000-01-01T00:00:00Z"}))
    # search on Group is not offered, and not served
    assert {"code": "search-type"} not in group["interaction"]
    assert is_outcome(api.get("doc", "/fhir/Group"), 404)


# -- migration 0019 -----------------------------------------------------------------------

def test_outcome_recorded_at_migrates_down_and_up_again(db_url):
    """Migration 0019 (outcomes.recorded_at, the time of change _since reads) goes down and
    up again on both databases, SQLite included."""
    from alembic import command

    from bontrack.store.db import make_engine
    from bontrack.store.migrate import alembic_config, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0018")
    assert "recorded_at" not in {c["name"] for c in sa.inspect(engine).get_columns("outcomes")}
    upgrade(engine)
    assert "recorded_at" in {c["name"] for c in sa.inspect(engine).get_columns("outcomes")}
    engine.dispose()
