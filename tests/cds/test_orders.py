"""Reading draft MedicationRequests into draft plans: what an EHR's order says, table-driven."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bontrack.cds.orders import dose_line, product_of, read_orders
from bontrack.reference import Reference
from tests.cds.drafts import SNOMED, bundle, dose, order, site

LINES: list[tuple[str, dict[str, Any], tuple[str, str, str, int | None]]] = [
    ("muscle name and side in the text", dose(site("Left biceps brachii"), 100),
     ("biceps_brachii", "left", "100", None)),
    ("a synonym, side word after it", dose(site("biceps, right"), 50, sites=2),
     ("biceps_brachii", "right", "50", 2)),
    ("SNOMED structure and SNOMED laterality codings",
     dose(site(None, (SNOMED, "22823000"), (SNOMED, "7771000")), 40),
     ("sternocleidomastoid", "left", "40", None)),
    ("bontrack codes", dose(site(None, ("https://fhir.bontrack.org/CodeSystem/injection-target",
                                        "brachioradialis"),
                                 ("https://fhir.bontrack.org/CodeSystem/side", "right")), 25),
     ("brachioradialis", "right", "25", None)),
    ("[iU] is the product's own unit", dose(site("left brachioradialis"), 30, "[iU]"),
     ("brachioradialis", "left", "30", None)),
    ("{Unit} is the product's own unit", dose(site("left brachioradialis"), "12.5", "{Unit}"),
     ("brachioradialis", "left", "12.5", None)),
    ("HL7 mCODE laterality-qualifier extension on the site",
     dose({"text": "sternocleidomastoid", "extension": [{
         "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier",
         "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "24028007"}]}}]}, 40),
     ("sternocleidomastoid", "right", "40", None)),
    ("an unpaired muscle is midline", dose(site("procerus"), 5),
     ("procerus", "midline", "5", None)),
]


@pytest.mark.parametrize(("case", "dosage", "expected"), LINES, ids=[c[0] for c in LINES])
def test_reads_the_units_into_each_muscle_and_side(case: str, dosage: dict[str, Any],
                                                   expected: tuple[str, str, str, int | None],
                                                   real_ref: Reference) -> None:
    line = dose_line(dosage, "d", real_ref)
    assert (line.muscle, line.side, line.units, line.sites) == (
        expected[0], expected[1], Decimal(expected[2]), expected[3])


REFUSED: list[tuple[str, Any, str, str]] = [
    ("no site", dose(None, 100), "d.site", "body site"),
    ("an unknown muscle", dose(site("left elbow thingy"), 100), "d.site", "no known muscle"),
    ("a paired muscle without side", dose(site("biceps brachii"), 100), "d.site", "not given"),
    ("bilateral", dose(site("biceps brachii, both"), 100), "d.site", "bilateral"),
    ("millilitres are not units", dose(site("left biceps"), 2, "mL"), "unit", "never converted"),
    ("mg are not units", dose(site("left biceps"), 2, "mg"), "unit", "not the product's units"),
    ("a negative dose", dose(site("left biceps"), -5), "value", "not a dose"),
    ("a boolean dose", dose(site("left biceps"), True), "value", "a number"),
    ("a text that is no number", dose(site("left biceps"), "lots"), "value", "not a number"),
    ("no dose", {"site": site("left biceps")}, "doseAndRate", "one doseQuantity"),
    ("not an object", "100 U", "d", "Dosage object"),
]


@pytest.mark.parametrize(("case", "dosage", "where", "words"), REFUSED,
                         ids=[c[0] for c in REFUSED])
def test_a_dose_line_that_cannot_be_read_names_the_element(case: str, dosage: Any, where: str,
                                                           words: str,
                                                           real_ref: Reference) -> None:
    from bontrack.errors import FieldError

    with pytest.raises(FieldError) as err:
        dose_line(dosage, "d", real_ref)
    assert where in err.value.field and words in err.value.reason


PRODUCTS = [
    ("Botox 100 unit vial", "onabotulinumtoxinA"),
    ("onabotulinumtoxinA", "onabotulinumtoxinA"),
    ("DYSPORT 500 UNITS", "abobotulinumtoxinA"),
    ("Xeomin", "incobotulinumtoxinA"),
    ("incobotulinumtoxinA 100 UNT Injection", "incobotulinumtoxinA"),
    ("Myobloc 5000 units/mL", "rimabotulinumtoxinB"),
    ("botulinum toxin type A", None),  # which product is not said: never guessed
    ("atorvastatin 20 mg", None),
]


@pytest.mark.parametrize(("text", "product"), PRODUCTS)
def test_the_product_is_read_from_its_brand_or_generic_name(text: str, product: str | None,
                                                            real_ref: Reference) -> None:
    assert product_of({"text": text}, real_ref) == product


def test_orders_are_grouped_per_product_and_units_of_two_products_are_never_summed(
        real_ref: Reference) -> None:
    drafts = bundle(
        order("a", "Botox", dose(site("left biceps brachii"), 100), icd="G24.3"),
        order("b", "Botox", dose(site("right biceps brachii"), 50), icd="G24.3"),
        order("c", "Dysport", dose(site("left sternocleidomastoid"), 250),
              reason="cervical dystonia"),
        order("d", "atorvastatin 20 mg"),
    )
    read = read_orders(drafts, real_ref)
    got = {(p.product, p.indication): (p.total_units, p.orders) for p in read.products}
    assert got == {
        ("onabotulinumtoxinA", "cervical_dystonia"): (Decimal(150), ("MedicationRequest/a",
                                                                    "MedicationRequest/b")),
        ("abobotulinumtoxinA", "cervical_dystonia"): (Decimal(250), ("MedicationRequest/c",)),
    }
    assert read.unread == ()


def test_an_unreadable_line_is_returned_with_its_product_and_the_rest_is_read(
        real_ref: Reference) -> None:
    drafts = bundle(order("a", "Botox", dose(site("left biceps brachii"), 100),
                          dose(site("left biceps brachii"), 2, "mL")))
    read = read_orders(drafts, real_ref)
    assert read.products[0].total_units == 100
    assert [(u.where.split(".")[-2:], u.product) for u in read.unread] == [
        (["doseQuantity", "unit"], "onabotulinumtoxinA")]


def test_a_toxin_order_of_an_unknown_product_is_said_and_other_medicines_are_skipped(
        real_ref: Reference) -> None:
    read = read_orders(bundle(order("x", "botulinum toxin type A 100 units"),
                              order("y", "paracetamol")), real_ref)
    assert read.products == ()
    assert [u.where for u in read.unread] == ["MedicationRequest/x.medication"]


def test_a_medication_given_by_codes_only_is_said_not_checked(real_ref: Reference) -> None:
    coded = {"coding": [{"system": "urn:example:drugs", "code": "12345"}]}
    read = read_orders(bundle(order("z", coded, dose(site("left biceps"), 10))), real_ref)
    assert read.products == ()
    assert "if it is a botulinum toxin" in read.unread[0].reason


def test_a_contained_medication_is_read(real_ref: Reference) -> None:
    res = order("a", "x", dose(site("left biceps brachii"), 10))
    del res["medicationCodeableConcept"]
    res["medicationReference"] = {"reference": "#med"}
    res["contained"] = [{"resourceType": "Medication", "id": "med", "code": {"text": "XEOMIN"}}]
    assert read_orders(bundle(res), real_ref).products[0].product == "incobotulinumtoxinA"


@pytest.mark.parametrize("junk", [None, [], "Bundle", {"resourceType": "Patient"},
                                  {"resourceType": "Bundle", "entry": "x"},
                                  {"resourceType": "Bundle", "entry": [None, 1, {"resource": 2}]}])
def test_junk_in_place_of_a_bundle_is_read_as_nothing_never_an_exception(
        junk: Any, real_ref: Reference) -> None:
    read = read_orders(junk, real_ref)
    assert read.products == ()
