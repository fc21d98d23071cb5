"""US Core-aligned content (issue 18 item 4, in part): the MRN's identifier type, the name
(official, with family and given where the record holds them), body weight as LOINC
29463-7, the condition's category, and each vial's NDC where the reference data cites one
that names it unambiguously. Products are found by NDC in orders and imports."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bontrack.cds.orders import product_of
from bontrack.reference import default_reference
from bontrack.reference.schema import Product
from bontrack.store.models import User
from tests.fhir.test_export import all_resources
from tests.fhir.validator import errors

NDC = "http://hl7.org/fhir/sid/ndc"
REF = default_reference()


@pytest.fixture(scope="module")
def resources(sqlite_demo: str) -> list[dict]:
    return all_resources(sqlite_demo)


def _of(resources: list[dict], kind: str) -> list[dict]:
    return [r for r in resources if r["resourceType"] == kind]


def test_the_mrn_is_typed_mr_from_hl7_table_0203(resources):
    for p in _of(resources, "Patient"):
        ident = p["identifier"][0]
        assert ident["type"]["coding"] == [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR",
            "display": "Medical record number"}]
        assert ident["use"] == "usual" and ident["value"]


def test_a_name_is_official_and_never_split_from_the_display_name(resources):
    """The demo's patients are recorded with one display name and no parts."""
    for p in _of(resources, "Patient"):
        (name,) = p["name"]
        assert name["use"] == "official" and name["text"]
        assert "family" not in name and "given" not in name


def test_name_parts_are_exported_as_family_and_given_and_validate(db_url):
    from bontrack.services import accounts, records
    from bontrack.services.schemas import PatientIn
    from bontrack.store.db import make_engine, session_factory, transaction
    from tests.fhir.test_export import all_resources
    from tests.fhir.test_import import empty_clinic

    empty_clinic(db_url, users=(("doc", "clinician"),))
    engine = make_engine(db_url)
    with transaction(session_factory(engine)) as s:
        doc = accounts.actor_of(s.scalar(select(User).where(User.username == "doc")))
        for body in ({"mrn": "N-1", "family_name": "da Silva", "given_names": ["Maria", "José"]},
                     {"mrn": "N-2", "display_name": "Wu Mei", "family_name": "Wu"},
                     {"mrn": "N-3", "display_name": "Kai", "given_names": ["Kai"]}):
            records.create_patient(s, doc, PatientIn.model_validate(
                {"birth_date": "1980-01-01", **body}), REF)
    engine.dispose()
    patients = _of(all_resources(db_url), "Patient")
    assert [p["name"] for p in patients] == [
        [{"use": "official", "text": "Maria José da Silva", "family": "da Silva",
          "given": ["Maria", "José"]}],
        [{"use": "official", "text": "Wu Mei", "family": "Wu"}],
        [{"use": "official", "text": "Kai", "given": ["Kai"]}]]
    assert [e for p in patients for e in errors(p)] == []


def test_a_body_weight_carries_loinc_29463_7_and_kg(resources):
    weights = [o for o in _of(resources, "Observation") if o["id"].startswith("weight-")]
    assert weights
    for w in weights:
        codings = w["code"]["coding"]
        assert codings[0] == {"system": "http://loinc.org", "code": "29463-7",
                              "display": "Body Weight"}
        assert w["category"][0]["coding"][0]["code"] == "vital-signs"
        assert w["valueQuantity"]["code"] == "kg"


def test_a_condition_is_a_problem_list_item(resources):
    conditions = _of(resources, "Condition")
    assert conditions
    for c in conditions:
        assert c["category"][0]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
            "code": "problem-list-item", "display": "Problem List Item"}


def _expected_ndc(product: str, size: Decimal) -> str | None:
    p = REF.products[product]
    sized = [n.product_ndc for n in p.ndc if n.vial_units == size]
    return sized[0] if len(p.brands) == 1 and len(sized) == 1 else None


def test_a_vial_carries_its_ndc_only_where_one_cited_code_names_it(resources):
    seen = {"with": 0, "without": 0}
    for m in _of(resources, "Medication"):
        product = next(c["code"] for c in m["code"]["coding"]
                       if c["system"].endswith("/CodeSystem/product"))
        size = Decimal(str(m["extension"][0]["valueQuantity"]["value"]))
        ndcs = [c["code"] for c in m["code"]["coding"] if c["system"] == NDC]
        expected = _expected_ndc(product, size)
        assert ndcs == ([expected] if expected else []), (product, size)
        seen["with" if expected else "without"] += 1
        if product == "onabotulinumtoxinA":
            assert ndcs == []  # BOTOX and BOTOX Cosmetic share the product: no NDC is sure
    assert seen["with"] and seen["without"], seen


def test_the_resources_with_the_new_codes_still_pass_both_r4_checks(resources):
    picked = (_of(resources, "Patient")[:3] + _of(resources, "Condition")[:3]
              + _of(resources, "Medication")[:20]
              + [o for o in _of(resources, "Observation") if o["id"].startswith("weight-")][:3])
    assert [e for r in picked for e in errors(r)] == []


@pytest.mark.parametrize(("code", "product"), [
    ("15054-0530", "abobotulinumtoxinA"),        # product NDC
    ("15054-0530-6", "abobotulinumtoxinA"),      # package NDC
    ("15054053006", "abobotulinumtoxinA"),       # 11 digits, 5-4-2
    ("0259-1620-01", "incobotulinumtoxinA"),
    ("00259162001", "incobotulinumtoxinA"),      # 4-digit labeler padded to 5
    ("46783-160-10", "incobotulinumtoxinA"),
    ("46783016010", "incobotulinumtoxinA"),      # 3-digit product padded to 4
    ("0023-9232-02", "onabotulinumtoxinA"),
    ("10454-710-10", "rimabotulinumtoxinB"),
    ("72960-112-01", "daxibotulinumtoxinA"),
    ("15054-05300", None),                       # not a package of 15054-0530
    ("1505405300", None),                        # 10 digits without hyphens: ambiguous
    ("99999-9999-99", None),
])
def test_a_product_is_found_by_its_ndc_in_any_usual_spelling(code, product):
    assert REF.product_by_ndc(code) == product


def test_an_order_coded_only_with_an_ndc_names_its_product():
    cc = {"coding": [{"system": NDC, "code": "15054-0530-6"}]}
    assert product_of(cc, REF) == "abobotulinumtoxinA"
    assert product_of({"coding": [{"system": NDC, "code": "12345-678-90"}]}, REF) is None


def test_an_ndc_whose_vial_size_the_product_does_not_have_is_refused():
    data = REF.products["abobotulinumtoxinA"].model_dump()
    bad = copy.deepcopy(data)
    bad["ndc"][0]["vial_units"] = Decimal(400)
    with pytest.raises(ValidationError, match="vial_units 400 is not one of"):
        Product.model_validate(bad)
    assert Product.model_validate(data).ndc[0].product_ndc == "15054-0530"


def test_an_encounter_is_typed_as_the_injection_session_its_procedure_codes(resources):
    procedures = {p["id"]: p for p in _of(resources, "Procedure")}
    encounters = _of(resources, "Encounter")
    assert encounters
    for e in encounters:
        assert e["type"] == [procedures[e["id"]]["code"]]
        assert e["type"][0]["coding"][0]["code"] == "bont-injection-session"


def test_a_patient_written_record_names_the_patient_as_its_author(resources):
    written = [(r, r.get("author") or r.get("recorder"))
               for r in resources if r["resourceType"] in ("QuestionnaireResponse",
                                                           "AdverseEvent")]
    by_patient = [(r, who) for r, who in written if who.get("type") == "Patient"]
    by_staff = [(r, who) for r, who in written if who.get("type") == "Practitioner"]
    assert by_patient, "the demo registry has patient-written diary entries or side effects"
    for r, who in by_patient:
        assert who["reference"] == r["subject"]["reference"]
        assert who["identifier"]["system"].endswith("/NamingSystem/username")
    for _, who in by_staff:
        assert "reference" not in who
    assert [e for r, _ in by_patient[:10] for e in errors(r)] == []
