"""bontrack's published FHIR definitions at the FHIR base (issue 18 item 5): read and search
by canonical URL without sign-in, listed in the CapabilityStatement, read-only (405), and
the same resources the export is checked against. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bontrack.fhir.codes import CS_MUSCLE, EXT, MRN_SYSTEM
from bontrack.fhir.definitions import TYPES, definitions
from bontrack.reference import default_reference

FHIR_JSON = "application/fhir+json"


def test_each_definition_is_read_by_id_without_sign_in(api):
    for d in definitions(default_reference()):
        r = api.client.get(f"/fhir/{d['resourceType']}/{d['id']}")
        assert r.status_code == 200, (d["id"], r.text[:200])
        assert r.headers["content-type"].startswith(FHIR_JSON)
        assert r.json() == d
    sd = api.client.get("/fhir/StructureDefinition/laterality").json()
    assert sd["url"] == EXT["laterality"] and sd["type"] == "Extension"


def test_a_definition_is_found_by_its_canonical_url(api):
    for kind, url in (("StructureDefinition", EXT["plan-check"]), ("CodeSystem", CS_MUSCLE),
                      ("NamingSystem", MRN_SYSTEM)):
        r = api.client.get(f"/fhir/{kind}", params={"url": url})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
        assert body["total"] == 1
        assert body["entry"][0]["resource"]["resourceType"] == kind
        assert body["entry"][0]["fullUrl"].endswith(f"/fhir/{kind}/{url.rsplit('/', 1)[1]}")
    everything = api.client.get("/fhir/StructureDefinition").json()
    assert everything["total"] == len(EXT)
    none = api.client.get("/fhir/CodeSystem", params={"url": "http://example.org/x"}).json()
    assert none["total"] == 0


def test_unknown_ids_and_parameters_are_refused_as_the_capability_statement_says(api):
    r = api.client.get("/fhir/StructureDefinition/no-such-extension")
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    assert api.client.get("/fhir/ValueSet/2147483648").status_code == 404
    r = api.client.get("/fhir/CodeSystem", params={"system": "x"})
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    assert "system" in r.text
    r = api.client.get("/fhir/CodeSystem", params={"system": "x", "_id": "side"},
                       headers={"Prefer": "handling=lenient"})
    assert r.status_code == 200 and r.json()["total"] == 1
    assert "system" in r.json()["entry"][-1]["resource"]["issue"][0]["diagnostics"]


def test_the_capability_statement_lists_the_definition_types(api):
    cs = api.client.get("/fhir/metadata").json()
    types = {res["type"]: res for res in cs["rest"][0]["resource"]}
    for kind in TYPES:
        assert {"code": "read"} in types[kind]["interaction"]
        assert {"name": "url", "type": "uri"} in types[kind]["searchParam"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_definitions_are_read_only(api, method):
    for path in ("/fhir/StructureDefinition", "/fhir/CodeSystem/side"):
        r = api.client.request(method, path, headers=api.h("doc"), json={})
        assert r.status_code == 405, (path, r.status_code)
        assert r.headers["allow"] == "GET"
