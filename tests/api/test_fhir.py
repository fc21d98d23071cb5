"""The /fhir facade on real databases: read, search, $everything and Bulk $export with the
same tokens, clinic and role rules and audit trail as /api/v1; errors as OperationOutcome."""

from __future__ import annotations

import time

import sqlalchemy as sa

from tests.api.fhir_records import full_record
from tests.fhir.validator import errors, model_errors, schema_errors

FHIR_JSON = "application/fhir+json"


def is_outcome(r, status: int) -> bool:
    return (r.status_code == status and r.headers["content-type"].startswith(FHIR_JSON)
            and r.json()["resourceType"] == "OperationOutcome")


def test_capability_statement_lists_the_resources_and_their_search_parameters(api):
    r = api.client.get("/fhir/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith(FHIR_JSON)
    cs = r.json()
    assert cs["fhirVersion"] == "4.0.1"
    # The packaged R4 schema was generated before the 4.0.1 technical correction and its
    # fhirVersion enum stops at 4.0.0; every other element must pass.
    assert schema_errors({**cs, "fhirVersion": "4.0.0"}) == []
    assert model_errors(cs) == []
    types = {res["type"]: res for res in cs["rest"][0]["resource"]}
    for t in ("Patient", "Condition", "Procedure", "MedicationAdministration", "Observation",
              "AdverseEvent", "Goal"):
        assert {"code": "search-type"} in types[t]["interaction"]
    assert {"name": "patient", "type": "reference"} in types["Observation"]["searchParam"]


def test_reads_follow_the_clinic_and_role_rules_and_are_audited(api):
    p1, pb = api.ids["p1"], api.ids["pb"]
    r = api.get("doc", f"/fhir/Patient/{p1}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(FHIR_JSON)
    assert r.json()["identifier"][0]["value"] == "A-1" and errors(r.json()) == []
    assert is_outcome(api.get("doc", f"/fhir/Patient/{pb}"), 404)  # other clinic
    assert is_outcome(api.get("doc_b", f"/fhir/Patient/{p1}"), 404)
    assert api.get("pat", f"/fhir/Patient/{p1}").status_code == 200  # self
    assert is_outcome(api.get("pat", f"/fhir/Patient/{api.ids['p2']}"), 403)
    assert is_outcome(api.client.get(f"/fhir/Patient/{p1}"), 401)
    assert is_outcome(api.get("doc", "/fhir/Patient/999999"), 404)
    assert is_outcome(api.get("doc", "/fhir/Practitioner/1"), 404)
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT action, entity, outcome FROM audit_events "
                                 "WHERE entity LIKE 'fhir:%' ORDER BY id")).all()
    engine.dispose()
    assert ("read", "fhir:Patient", "ok") in rows
    assert ("get", "fhir:Patient", "denied") in rows


def test_everything_returns_the_whole_record_and_every_resource_validates(api):
    made = full_record(api)
    r = api.get("doc", f"/fhir/Patient/{api.ids['p1']}/$everything")
    assert r.status_code == 200
    bundle = r.json()
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert bundle["type"] == "searchset" and bundle["total"] == len(kinds)
    assert {"Patient", "Condition", "Encounter", "Procedure", "Medication",
            "MedicationAdministration", "Observation", "Goal", "AdverseEvent",
            "QuestionnaireResponse"} <= set(kinds)
    assert all(e["fullUrl"].startswith("http://testserver/fhir/") for e in bundle["entry"])
    assert [e for e in bundle["entry"] for e in errors(e["resource"])] == []
    child = api.get("doc", f"/fhir/Procedure/{made['override_cycle']}").json()
    assert errors(child) == []
    overrides = [x for x in child["extension"] if x["url"].endswith("/override")]
    reason = next(p["valueString"] for p in overrides[0]["extension"] if p["url"] == "reason")
    assert reason.startswith("Severe spasticity")
    assert any(x["url"].endswith("/finding") for x in child["extension"])


def test_search_by_patient_date_code_with_paging_links(api):
    full_record(api)
    p1 = api.ids["p1"]
    r = api.get("doc", "/fhir/Observation", params={"patient": f"Patient/{p1}",
                                                     "_count": "2"})
    b = r.json()
    assert r.status_code == 200 and b["type"] == "searchset"
    assert b["total"] == 5  # 3 outcomes + 2 weights
    assert len(b["entry"]) == 2
    nxt = next(link["url"] for link in b["link"] if link["relation"] == "next")
    seen = [e["resource"]["id"] for e in b["entry"]]
    while nxt:
        page = api.get("doc", nxt.replace("http://testserver", "")).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        nxt = next((lk["url"] for lk in page["link"] if lk["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == 5
    mas = api.get("doc", "/fhir/Observation", params={
        "patient": str(p1), "code": "http://snomed.info/sct|765771006"}).json()
    assert mas["total"] == 2
    late = api.get("doc", "/fhir/Observation", params={
        "patient": str(p1), "code": "modified_ashworth", "date": "ge2026-12-01"}).json()
    assert [e["resource"]["valueCodeableConcept"]["text"] for e in late["entry"]] == ["1+"]
    ma = api.get("doc", "/fhir/MedicationAdministration", params={
        "patient": str(p1), "code": "onabotulinumtoxinA", "date": "2026-11"}).json()
    assert ma["total"] == 2
    assert api.get("doc", "/fhir/MedicationAdministration", params={
        "patient": str(p1), "code": "abobotulinumtoxinA"}).json()["total"] == 0
    assert api.get("doc", "/fhir/Condition", params={
        "code": "http://hl7.org/fhir/sid/icd-10-cm|I69.351"}).json()["total"] == 1
    ae = api.get("doc", "/fhir/AdverseEvent", params={"subject": f"Patient/{p1}"}).json()
    assert ae["total"] == 1 and errors(ae["entry"][0]["resource"]) == []
    assert api.get("doc", "/fhir/Goal", params={"_id": "1"}).json()["total"] == 1
    assert api.get("doc", "/fhir/Procedure", params={"_count": "0"}).json()["total"] == 2


def test_search_refuses_unknown_parameters_and_bad_dates_as_operation_outcome(api):
    r = api.get("doc", "/fhir/Observation", params={"patinet": "1"})
    assert is_outcome(r, 422) or is_outcome(r, 400)
    assert "patinet" in r.json()["issue"][0]["diagnostics"]
    r = api.get("doc", "/fhir/Observation", params={"date": "yesterday"})
    assert "date" in r.json()["issue"][0]["expression"]


def test_a_patient_searching_sees_only_their_own_record_and_other_clinics_see_nothing(api):
    full_record(api)
    own = api.get("pat", "/fhir/Patient").json()
    assert [e["resource"]["id"] for e in own["entry"]] == [str(api.ids["p1"])]
    assert api.get("pat", "/fhir/Procedure").json()["total"] == 1
    assert api.get("doc_b", "/fhir/Procedure").json()["total"] == 0
    assert api.get("doc", "/fhir/Procedure").json()["total"] == 2


def test_bulk_export_kick_off_status_and_download(api, tmp_path, monkeypatch):
    full_record(api)
    api.client.app.state.fhir_jobs.root = tmp_path
    assert is_outcome(api.get("nurse", "/fhir/$export"), 403)
    r = api.get("doc", "/fhir/$export", headers={"Prefer": "respond-async",
                                                 "Accept": FHIR_JSON})
    assert r.status_code == 202, r.text
    status_url = r.headers["Content-Location"].replace("http://testserver", "")
    deadline = time.monotonic() + 60
    while True:
        s = api.get("doc", status_url)
        if s.status_code == 200:
            break
        assert s.status_code == 202 and "X-Progress" in s.headers
        assert time.monotonic() < deadline
        time.sleep(0.2)
    manifest = s.json()
    assert manifest["requiresAccessToken"] is True
    outputs = {o["type"]: o for o in manifest["output"]}
    assert outputs["Patient"]["count"] == 2 and outputs["MedicationAdministration"]["count"] == 3
    assert is_outcome(api.get("doc_b", status_url), 404)
    f = api.get("doc", outputs["Observation"]["url"].replace("http://testserver", ""))
    assert f.status_code == 200 and f.headers["content-type"].startswith(
        "application/fhir+ndjson")
    import json

    lines = [json.loads(line) for line in f.text.splitlines()]
    assert len(lines) == outputs["Observation"]["count"]
    assert all(r["resourceType"] == "Observation" and not errors(r) for r in lines)
    r = api.get("doc", "/fhir/$export", params={"_type": "Patient,Flag"})
    assert is_outcome(r, 400) and "Flag" in r.json()["issue"][0]["diagnostics"]
    r = api.client.delete(status_url, headers=api.h("doc"))
    assert r.status_code == 202
    assert is_outcome(api.get("doc", status_url), 404)


def test_a_bundle_with_overrides_findings_and_signature_survives_a_round_trip(api, tmp_path):
    import json as _json

    from bontrack.fhir.importer import import_items
    from bontrack.fhir.reading import read_input
    from bontrack.reference import default_reference
    from bontrack.services import accounts
    from bontrack.store.db import make_engine, session_factory, transaction
    from bontrack.store.models import User
    from tests.fhir.test_import import empty_clinic, local_only, normalised

    full_record(api)
    source = []
    for p in ("p1", "p2"):
        b = api.get("doc", f"/fhir/Patient/{api.ids[p]}/$everything").json()
        source += [e["resource"] for e in b["entry"]]
    f = tmp_path / "in.json"
    f.write_text(_json.dumps({"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": r} for r in source]}))
    target = f"sqlite:///{tmp_path / 'target.db'}"
    empty_clinic(target, users=(("admin", "admin"), ("doc", "clinician"),
                                ("nurse", "nurse"), ("pat", "nurse")), clinic="Clinic A")
    engine = make_engine(target)
    items, problems = read_input(f)
    with transaction(session_factory(engine)) as s:
        doc = s.scalar(sa.select(User).where(User.username == "doc"))
        import_items(s, accounts.actor_of(doc), default_reference(), items, "in.json",
                     problems)
    engine.dispose()
    from tests.fhir.test_export import all_resources
    from tests.fhir.test_import import _link_account

    # the same people: "pat" is p1's own account here too (an import links no accounts)
    p1 = next(r for r in source if r["resourceType"] == "Patient"
              and r["id"] == str(api.ids["p1"]))
    _link_account(target, "pat", p1["identifier"][0]["value"])
    again = all_resources(target)
    # bontrack's own check gives the same findings; the source's signature and overrides
    # come back as provenance text, never as a local signature or override (issue 15)
    # the served resources carry a generated narrative; it is derived, not stored, and the
    # importer ignores it: compare the records without it
    assert all(r["text"]["status"] == "generated" for r in source)
    stored = [{k: v for k, v in r.items() if k != "text"} for r in source]
    assert normalised(local_only(again)) == normalised(local_only(stored))
    said = [x["valueString"] for r in again if r["resourceType"] == "Procedure"
            for x in r["extension"] if x["url"].endswith("/provenance")]
    assert any(t.startswith("override in in.json by ") for t in said)
    assert any(t.startswith("signed in in.json by ") for t in said)
    assert not any(x["url"].endswith(("/override", "/signature")) for r in again
                   if r["resourceType"] == "Procedure" for x in r["extension"])
    proc = next(r for r in again if r["resourceType"] == "Procedure")
    assert errors(proc) == []
