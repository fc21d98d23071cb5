"""Every resource the /fhir API serves carries a generated narrative (issue 18 item 4, dom-6):
read, search (matches and _include), Patient/$everything, Group and the
CapabilityStatement; derived, so the version and ETag stay those of the record."""

from __future__ import annotations

from bontrack.fhir import search
from tests.api.fhir_records import full_record
from tests.api.test_fhir_bulk_filters import clinic_of
from tests.fhir.test_narrative import check_div
from tests.fhir.validator import errors


def has_narrative(resource: dict) -> bool:
    text = resource.get("text") or {}
    if text.get("status") != "generated":
        return False
    check_div(text["div"])
    return True


def test_read_search_and_everything_give_every_resource_a_narrative(api):
    full_record(api)
    p1 = api.ids["p1"]
    r = api.get("doc", f"/fhir/Patient/{p1}/$everything")
    assert r.status_code == 200
    everything = [e["resource"] for e in r.json()["entry"]]
    assert len({x["resourceType"] for x in everything}) >= 9
    assert [f"{x['resourceType']}/{x['id']}" for x in everything
            if not has_narrative(x)] == []
    assert [e for x in everything for e in errors(x)] == []

    for x in everything:  # read: the same narrative, ETag from the record's version
        got = api.get("doc", f"/fhir/{x['resourceType']}/{x['id']}")
        assert got.status_code == 200
        body = got.json()
        assert has_narrative(body) and body["text"] == x["text"]
        assert got.headers["ETag"] == f'W/"{body["meta"]["versionId"]}"'
        again = api.get("doc", f"/fhir/{x['resourceType']}/{x['id']}",
                        headers={"If-None-Match": got.headers["ETag"]})
        assert again.status_code == 304

    for kind in search.TYPES:
        by = "_id" if kind == "Patient" else "patient"
        page = api.get("doc", f"/fhir/{kind}?{by}={p1}&_count=50").json()
        found = [e["resource"] for e in page.get("entry", [])]
        assert found, kind
        assert all(has_narrative(x) for x in found), kind
    inc = api.get("doc", f"/fhir/MedicationAdministration?patient={p1}"
                         "&_include=MedicationAdministration:medication").json()
    included = [e["resource"] for e in inc["entry"] if e["search"]["mode"] == "include"]
    assert included and all(has_narrative(x) for x in included)


def test_group_and_capability_statement_have_a_narrative(api):
    assert has_narrative(api.client.get("/fhir/metadata").json())
    group = api.get("doc", f"/fhir/Group/{clinic_of(api, 'p1')}")
    assert group.status_code == 200 and has_narrative(group.json())


def test_elements_subset_is_left_without_narrative(api):
    """``_elements`` asks for named elements only (marked SUBSETTED): no text is added."""
    page = api.get("doc", f"/fhir/Patient?_id={api.ids['p1']}&_elements=gender").json()
    resource = page["entry"][0]["resource"]
    assert "text" not in resource and resource["gender"]
