"""Published definitions (issue 18 item 5): every extension and bontrack code an exported
registry carries has a StructureDefinition or CodeSystem, built from what the export takes
its codes from, and an independent validator (@medplum/core, tests/fhir/medplum.py) finds
the definitions valid R4 and the exported resources valid against them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bontrack.fhir.codes import (
    CANONICAL,
    CS_MUSCLE,
    CS_PRODUCT,
    EXT,
    HL7_EXTENSIONS,
    MCODE_LATERALITY,
)
from bontrack.fhir.definitions import SYSTEMS, definitions, published
from bontrack.fhir.extensions import EXTENSIONS
from bontrack.reference import default_reference
from tests.fhir.medplum import check
from tests.fhir.test_export import all_resources, cli
from tests.fhir.validator import errors


def used(resources: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(kind, url) of every bontrack extension, code system and identifier system used."""
    def walk(node: Any) -> Iterator[tuple[str, str]]:
        if isinstance(node, list):
            for v in node:
                yield from walk(v)
        elif isinstance(node, dict):
            system = node.get("system")
            if isinstance(system, str) and system.startswith(CANONICAL):
                yield ("identifier" if "value" in node else "coding"), system
            for key, value in node.items():
                if key == "extension":
                    for e in value:
                        if e.get("url", "").startswith(CANONICAL):
                            yield "extension", e["url"]
                yield from walk(value)

    for r in resources:
        yield from walk(r)


@pytest.fixture(scope="module")
def exported(sqlite_demo: str) -> list[dict[str, Any]]:
    return all_resources(sqlite_demo)


@pytest.fixture(scope="module")
def defs() -> list[dict[str, Any]]:
    return definitions(default_reference())


def test_every_extension_and_code_system_of_an_exported_registry_has_a_published_definition(
        exported):
    found = set(used(exported))
    urls = published(default_reference()).by_url
    missing = sorted(f"{kind} {url}" for kind, url in found if url not in urls)
    assert missing == []
    kinds = {kind for kind, _ in found}
    assert kinds == {"extension", "coding", "identifier"}
    # the CodeSystems and StructureDefinitions are of the right kind
    assert all(urls[u]["resourceType"] == "StructureDefinition"
               for k, u in found if k == "extension")
    assert all(urls[u]["resourceType"] == "CodeSystem" for k, u in found if k == "coding")
    assert all(urls[u]["resourceType"] == "NamingSystem" for k, u in found if k == "identifier")


def all_extension_urls(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for v in node:
            yield from all_extension_urls(v)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("extension", "modifierExtension"):
                yield from (e.get("url", "") for e in value)
            yield from all_extension_urls(value)


def test_every_extension_url_is_bontrack_published_or_an_hl7_published_one(exported):
    """bontrack publishes its own; an HL7 extension (mCODE's laterality qualifier) is
    HL7's to publish, so bontrack publishes no definition for it and the list of such
    URLs is closed (a new foreign URL fails here until it is cited in codes.py)."""
    urls = published(default_reference()).by_url
    found = {u for u in all_extension_urls(exported) if "://" in u}  # not a part's name
    assert MCODE_LATERALITY in found
    assert MCODE_LATERALITY not in urls
    assert sorted(u for u in found if u not in urls and u not in HL7_EXTENSIONS) == []
    assert all(u.startswith("http://hl7.org/fhir/") for u in HL7_EXTENSIONS)


def test_the_coverage_check_names_an_extension_without_a_definition(exported):
    sample = copy.deepcopy(exported[0])
    sample["extension"] = [*sample.get("extension", []),
                           {"url": f"{CANONICAL}/StructureDefinition/new-thing",
                            "valueString": "x"}]
    urls = published(default_reference()).by_url
    assert [u for k, u in used([sample]) if u not in urls] == [
        f"{CANONICAL}/StructureDefinition/new-thing"]


def test_each_declared_extension_has_one_structure_definition_with_its_url(defs):
    sds = {d["url"]: d for d in defs if d["resourceType"] == "StructureDefinition"}
    assert set(sds) == set(EXT.values()) and set(EXT) == set(EXTENSIONS)
    lat = sds[EXT["laterality"]]
    assert lat["type"] == "Extension" and lat["derivation"] == "constraint"
    assert lat["kind"] == "complex-type"
    assert lat["baseDefinition"] == "http://hl7.org/fhir/StructureDefinition/Extension"
    diff = {e["id"]: e for e in lat["differential"]["element"]}
    assert diff["Extension.url"]["fixedUri"] == EXT["laterality"]
    assert diff["Extension.value[x]"]["type"] == [{"code": "CodeableConcept"}]
    assert [c["expression"] for c in lat["context"]] == [
        "MedicationAdministration.dosage.site", "Observation.bodySite"]
    plan = {e["id"]: e for e in sds[EXT["plan-check"]]["differential"]["element"]}
    assert plan["Extension.extension:verdict"]["min"] == 1
    assert plan["Extension.extension:next-earliest-date.value[x]"]["type"] == [
        {"code": "date"}]
    assert plan["Extension.value[x]"]["max"] == "0"


def test_code_systems_are_drawn_from_the_reference_data(defs):
    ref = default_reference()
    systems = {d["url"]: d for d in defs if d["resourceType"] == "CodeSystem"}
    assert set(systems) == {s.url for s in SYSTEMS}
    muscles = systems[CS_MUSCLE]
    assert muscles["content"] == "complete" and muscles["count"] == len(ref.muscles)
    assert {c["code"]: c["display"] for c in muscles["concept"]} == {
        m.id: m.name for m in ref.muscles.values()}
    assert {c["code"] for c in systems[CS_PRODUCT]["concept"]} == set(ref.products)
    value_sets = {d["url"]: d for d in defs if d["resourceType"] == "ValueSet"}
    assert value_sets[f"{CANONICAL}/ValueSet/injection-target"]["compose"] == {
        "include": [{"system": CS_MUSCLE}]}


def test_the_definitions_pass_the_r4_schema_and_the_r4b_models(defs):
    # the R4 JSON Schema (built with the 4.0.0 ballot) lists fhirVersion values up to
    # 4.0.0; R4's published version is 4.0.1 (the R4B models and medplum take it)
    found = [e for d in defs for e in errors(d)
             if not e.endswith("is not one of " + e.split("is not one of ")[-1])
             or "fhirVersion: '4.0.1'" not in e]
    assert found == []
    broken = {**defs[0], "kind": "nonsense"}
    assert errors(broken)


def test_medplum_finds_the_definitions_and_an_exported_registry_valid_against_them(
        defs, exported):
    result = check(defs, exported)
    assert result["issues"] == []
    assert result["definitions"] == len(defs) and result["resources"] == len(exported)
    assert result["extensions"] > 1000 and result["codings"] > 500


def _broken(exported: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ma = copy.deepcopy(next(r for r in exported
                            if r["resourceType"] == "MedicationAdministration"))
    for e in ma["extension"]:
        if e["url"] == EXT["injection-sites"]:
            e.pop("valueInteger")
            e["valueString"] = "3"
    ma["dosage"]["site"]["coding"][0]["code"] = "no_such_muscle"
    proc = copy.deepcopy(next(r for r in exported if r["resourceType"] == "Procedure"))
    for e in proc["extension"]:
        if e["url"] == EXT["plan-check"]:
            e["extension"] = [p for p in e["extension"] if p["url"] != "verdict"]
            e["extension"].append({"url": "bogus", "valueString": "x"})
    proc["extension"].append({"url": EXT["gas-weight"], "valueInteger": 1})  # not a Goal
    cond = copy.deepcopy(next(r for r in exported if r["resourceType"] == "Condition"))
    cond["extension"] = [{"url": EXT["affected-side"], "valueCode": "upside"}]
    cond["code"]["coding"][0]["display"] = "Something else"
    return [ma, proc, cond]


def test_the_independent_check_catches_broken_extensions_and_codes(defs, exported):
    bad_definition = copy.deepcopy(next(d for d in defs if d["resourceType"] == "CodeSystem"))
    bad_definition["concept"][0].pop("code")
    result = check([*defs, bad_definition], _broken(exported))
    texts = "\n".join(f"{i['where']}: {i['text']}" for i in result["issues"])
    for expected in (
        "CodeSystem/product: Missing required property",
        "valueString is not the published value type (valueInteger)",
        'code "no_such_muscle" is not in ' + CS_MUSCLE,
        "Incorrect number of values provided for slice 'verdict'",
        'part "bogus" is not published',
        "gas-weight stands at Procedure, not in its context",
        'code "upside" is not in',
        'display "Something else"',
    ):
        assert expected in texts, (expected, texts)


def test_cli_writes_the_definitions_as_files(tmp_path):
    out = tmp_path / "defs"
    run = cli("fhir", "definitions", "--out", str(out))
    assert run.returncode == 0, run.stderr
    files = sorted(p.name for p in out.iterdir())
    assert "StructureDefinition-laterality.json" in files
    assert "CodeSystem-injection-target.json" in files
    sd = json.loads((out / "StructureDefinition-laterality.json").read_text())
    assert sd["url"] == EXT["laterality"]
    assert len(files) == len(definitions(default_reference()))


def test_docs_fhir_md_lists_every_published_definition(defs):
    text = (Path(__file__).resolve().parents[2] / "docs" / "fhir.md").read_text()
    urls = [d.get("url") or d["uniqueId"][0]["value"] for d in defs]
    assert [u for u in urls if f"`{u}`" not in text] == []
