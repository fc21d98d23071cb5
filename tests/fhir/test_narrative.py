"""The generated narrative (``Resource.text``, issue 18 item 4): a short escaped XHTML summary
per resource type, within what FHIR R4 allows (txt-1, txt-2), derived and never stored."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from bontrack.fhir import export
from bontrack.fhir import narrative as summaries
from bontrack.fhir.definitions import definitions
from bontrack.fhir.narrative import narrative, with_narrative
from bontrack.fhir.registry import REGISTRY
from bontrack.reference import default_reference
from tests.fhir.medplum import check
from tests.fhir.test_export import all_resources, cli
from tests.fhir.test_import import empty_clinic
from tests.fhir.validator import errors

NS = "{http://www.w3.org/1999/xhtml}"
#: the elements the generator may write (a subset of what txt-1 allows)
ALLOWED = {"div", "p", "b", "ul", "li", "table", "tr", "td"}
EVIL = "<script>alert(1)</script> & Sons"
SIDE = {"url": "https://fhir.bontrack.org/StructureDefinition/laterality",
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct",
                                             "code": "7771000", "display": "Left"}]}}


def check_div(div: str) -> ET.Element:
    """The div as FHIR R4 wants it: XHTML namespace, no attribute (the namespace is the
    only one written), only the basic elements, non-whitespace text (txt-1, txt-2)."""
    assert div.startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    root = ET.fromstring(div)
    assert root.tag == f"{NS}div"
    for el in root.iter():
        assert el.tag.startswith(NS) and el.tag[len(NS):] in ALLOWED, el.tag
        assert el.attrib == {}, el.attrib
    assert "".join(root.itertext()).strip()
    return root


def text_of(div: str) -> str:
    return "".join(ET.fromstring(div).itertext())


# (resource, words its narrative must hold): one row per type the generator knows, and
# one it does not (the generic summary)
CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"resourceType": "Patient", "id": "1",
      "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "A-1"}],
      "name": [{"family": EVIL, "given": ["Kim"]}], "birthDate": "1980-02-03",
      "gender": "female"},
     ["Kim " + EVIL, "MRN: A-1", "Birth date: 1980-02-03", "Sex: female"]),
    ({"resourceType": "Encounter", "id": "2", "status": "finished",
      "type": [{"text": "Injection session"}], "period": {"start": "2026-01-12"},
      "reasonCode": [{"text": "Cervical dystonia"}]},
     ["Injection session", "Date: 2026-01-12", "Status: finished",
      "Reason: Cervical dystonia"]),
    ({"resourceType": "Procedure", "id": "3", "status": "completed",
      "code": {"coding": [{"display": "BoNT session"}]}, "performedDateTime": "2026-01-12",
      "reasonCode": [{"text": "Spasticity & pain"}]},
     ["BoNT session", "Date: 2026-01-12", "Status: completed", "Reason: Spasticity & pain"]),
    ({"resourceType": "MedicationAdministration", "id": "4", "status": "completed",
      "effectiveDateTime": "2026-01-12",
      "dosage": {"site": {"text": "Biceps brachii", "extension": [SIDE]},
                 "dose": {"value": 50, "unit": "U"}}},
     ["Biceps brachii", "Side: Left", "Dose: 50 U", "Status: completed"]),
    ({"resourceType": "Medication", "id": "5", "code": {"text": "onabotulinumtoxinA"},
      "extension": [{"url": "https://fhir.bontrack.org/StructureDefinition/vial-size",
                     "valueQuantity": {"value": 100, "unit": "U"}}],
      "batch": {"lotNumber": EVIL}},
     ["onabotulinumtoxinA", "Vial: 100 U", "Lot: " + EVIL]),
    ({"resourceType": "Observation", "id": "6", "status": "final",
      "code": {"text": "Modified Ashworth Scale"}, "effectiveDateTime": "2026-02-01",
      "valueCodeableConcept": {"text": "1+"},
      "bodySite": {"text": "Brachioradialis", "extension": [SIDE]}},
     ["Modified Ashworth Scale", "Value: 1+", "Date: 2026-02-01",
      "Body site: Brachioradialis (left)"]),
    ({"resourceType": "Observation", "id": "weight-7", "status": "final",
      "code": {"text": "Body weight"}, "valueQuantity": {"value": 71.5, "unit": "kg"}},
     ["Body weight", "Value: 71.5 kg"]),
    ({"resourceType": "Condition", "id": "8", "code": {"text": "Blepharospasm"},
      "clinicalStatus": {"coding": [{"code": "active", "display": "Active"}]},
      "onsetDateTime": "2020-05-01"},
     ["Blepharospasm", "Clinical status: Active", "Onset: 2020-05-01"]),
    ({"resourceType": "Goal", "id": "9", "lifecycleStatus": "active",
      "description": {"text": EVIL}, "target": [{"dueDate": "2026-06-01"}]},
     [EVIL, "Status: active", "Due: 2026-06-01"]),
    ({"resourceType": "AdverseEvent", "id": "10", "event": {"text": "Ptosis"},
      "date": "2026-01-20", "severity": {"coding": [{"display": "Mild"}]}},
     ["Ptosis", "Date: 2026-01-20", "Severity: Mild"]),
    ({"resourceType": "QuestionnaireResponse", "id": "11", "status": "completed",
      "questionnaire": "https://fhir.bontrack.org/Questionnaire/diary",
      "authored": "2026-03-01T20:00:00+00:00",
      "item": [{"linkId": "pain", "text": "Pain (0-10)", "answer": [{"valueInteger": 4}]},
               {"linkId": "note", "text": "Note", "answer": [{"valueString": EVIL}]}]},
     ["diary", "Status: completed", "Pain (0-10): 4", "Note: " + EVIL]),
    ({"resourceType": "Group", "id": "12", "name": "Clinic & co", "type": "person",
      "quantity": 2}, ["Clinic & co", "Type: person", "Members: 2"]),
    ({"resourceType": "Practitioner", "id": "13", "active": True,
      "gender": "male", "birthDate": "1970-01-01"},
     ["Practitioner", "active: True", "gender: male"]),
]


@pytest.mark.parametrize(("resource", "words"), CASES,
                         ids=[f"{r['resourceType']}/{r['id']}" for r, _ in CASES])
def test_each_type_gets_an_escaped_summary_within_the_allowed_xhtml(resource, words):
    kind = REGISTRY.get(resource["resourceType"])
    summary = kind.narrative if kind else (
        summaries.group if resource["resourceType"] == "Group" else None)
    text = narrative(resource, summary)
    assert text["status"] == "generated"
    check_div(text["div"])
    shown = text_of(text["div"])
    for w in words:
        assert w in shown, (w, shown)
    assert "<script" not in text["div"]
    if EVIL in json.dumps(resource):
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in text["div"]


def test_every_registered_kind_has_its_own_summary_and_a_row_in_the_table():
    assert [k.name for k in REGISTRY if k.narrative is None] == []
    assert {r["resourceType"] for r, _ in CASES} >= {*REGISTRY.types, "Group", "Practitioner"}


def test_an_empty_or_odd_resource_still_gets_a_non_empty_div():
    for odd in ({"resourceType": "Basic"}, {"resourceType": "Patient", "name": [{}]},
                {"resourceType": "Observation", "code": "not a concept", "valueBoolean": True},
                {"resourceType": "MedicationAdministration", "dosage": {}}):
        check_div(narrative(odd)["div"])


def test_with_narrative_adds_text_after_meta_and_leaves_the_resource_and_version_alone():
    r = {"resourceType": "Goal", "id": "1", "meta": {"versionId": "3", "lastUpdated": "x"},
         "description": {"text": "Walk"}}
    before = copy.deepcopy(r)
    out = with_narrative(r)
    assert r == before  # a copy: the built (and cached) resource is not changed
    assert list(out) == ["resourceType", "id", "meta", "text", "description"]
    assert out["meta"] == r["meta"]
    own = {**r, "text": {"status": "additional", "div": "<div>x</div>"}}
    assert with_narrative(own) is own
    subset = {**r, "meta": {"tag": [{"code": "SUBSETTED"}]}}
    assert "text" not in with_narrative(subset)


def test_demo_resources_with_narrative_pass_the_independent_validators(sqlite_demo):
    resources = [REGISTRY.narrate(r) for r in all_resources(sqlite_demo)]
    assert {r["resourceType"] for r in resources} >= set(export.TYPES) - {"Group"}
    for r in resources:
        check_div(r["text"]["div"])
    assert [e for r in resources for e in errors(r)] == []
    result = check(definitions(default_reference()), resources)
    assert result["issues"] == []


def test_the_cli_patient_bundle_carries_narrative_and_imports_back(sqlite_demo, tmp_path):
    out = tmp_path / "b.json"
    r = cli("fhir", "export", "--patient", "1", "--out", str(out), "--db", sqlite_demo)
    assert r.returncode == 0, r.stderr
    entries = json.loads(out.read_text())["entry"]
    assert entries and all(e["resource"]["text"]["status"] == "generated" for e in entries)
    for e in entries:
        check_div(e["resource"]["text"]["div"])
    target = f"sqlite:///{tmp_path / 'target.db'}"
    empty_clinic(target)
    r = cli("fhir", "import", str(out), "--user", "admin", "--db", target)
    assert r.returncode == 0, r.stderr
