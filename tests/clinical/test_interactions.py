"""Medicines by class, on the bundled labels: every member and brand of every class a label
names gives DRUG_INTERACTION with that label's citation; unknown names are said."""

from __future__ import annotations

from typing import Any

import pytest

from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.findings import CODES, Severity
from bontrack.clinical.plan import read_plan
from bontrack.reference import Reference, default_reference
from bontrack.reference.schema import Interaction
from tests.conftest import codes

REF = default_reference()
PRODUCTS = sorted(REF.products)


def plan_for(product: str, medications: list[str], **patient: Any) -> dict[str, Any]:
    return {
        "date": "2026-11-24",
        "patient": {"age_years": 45, "medications": medications, **patient},
        "product": product,
        "indication": "cervical_dystonia",
        "injections": [{"muscle": "splenius_capitis", "side": "left", "units": 10}],
    }


def run(ref: Reference, product: str, medications: list[str]) -> CheckResult:
    return check_plan(read_plan(plan_for(product, medications), ref), ref)


def names_of(class_id: str, product: str) -> list[str]:
    """Every name a clinician may write for a member of the class: generic names, other
    spellings and brands (for the class of other toxins: the other products' names)."""
    d = REF.drug_classes[class_id]
    out = [n for m in d.members for n in (m.name, *m.synonyms, *m.brand_names)]
    if d.members_from_products:
        out += [n for pid, p in REF.products.items() if pid != product
                for n in (pid, *p.brands)]
    return out


def cases() -> list[tuple[str, str, str, Interaction]]:
    """(product, class, medication name, the label's interaction) for every interaction each
    label names and every name of that class's members."""
    out = []
    for pid in PRODUCTS:
        for ix in REF.products[pid].interactions:
            cls = REF.drug_class_id(ix.drug_class)
            assert cls is not None
            for name in names_of(cls, pid):
                out.append((pid, cls, name, ix))
    return out


CASES = cases()


def test_the_table_covers_every_class_for_every_product():
    seen = {(pid, cls) for pid, cls, _, _ in CASES}
    for pid in PRODUCTS:
        named = {REF.drug_class_id(ix.drug_class) for ix in REF.products[pid].interactions}
        assert {(pid, c) for c in named} <= seen
    assert len(CASES) > 400


@pytest.mark.parametrize(("product", "class_id", "name", "ix"), CASES,
                         ids=[f"{p}-{c}-{n}" for p, c, n, _ in CASES])
def test_each_class_member_is_flagged_with_the_labels_citation(product, class_id, name, ix):
    result = run(REF, product, [name])
    hits = [f for f in result.findings if f.code == "DRUG_INTERACTION"]
    wanted = REF.citation(ix.source.document, ix.source.section)
    assert any(f.source == wanted and f.quote == ix.source.quote for f in hits), (
        name, [f.message for f in hits])
    assert "MEDICATION_NOT_RECOGNISED" not in codes(result)
    assert result.verdict == "warning"


@pytest.mark.parametrize("product", ["incobotulinumtoxinA", "abobotulinumtoxinA"])
def test_xeomin_and_dysport_with_gentamicin_are_flagged(product):
    result = run(REF, product, ["gentamicin"])
    f = next(f for f in result.findings if f.code == "DRUG_INTERACTION")
    assert "aminoglycosides" in f.message and f.quote and "aminoglycosides" in f.quote
    assert result.verdict == "warning"


@pytest.mark.parametrize("med", ["baclofen", "tizanidine", "Baclofen 10 mg tds",
                                 "tizanidine hydrochloride 4mg nocte", "Lioresal (baclofen)",
                                 "Zanaflex", "intrathecal baclofen"])
def test_baclofen_and_tizanidine_are_flagged_for_botox_as_muscle_relaxants(med):
    result = run(REF, "onabotulinumtoxinA", [med])
    f = next(f for f in result.findings if f.code == "DRUG_INTERACTION")
    assert "muscle relaxants" in f.message
    assert f.quote is not None and "muscle relaxant" in f.quote
    assert f.source is not None and "Muscle Relaxants" in f.source


def test_a_medicine_in_two_classes_gives_each_of_the_labels_interactions():
    result = run(REF, "onabotulinumtoxinA", ["orphenadrine"])
    messages = [f.message for f in result.findings if f.code == "DRUG_INTERACTION"]
    assert any("anticholinergic" in m for m in messages)
    assert any("muscle relaxants" in m for m in messages)


def test_the_product_itself_is_not_another_botulinum_toxin_product():
    result = run(REF, "onabotulinumtoxinA", ["Botox"])
    assert "DRUG_INTERACTION" not in codes(result)
    assert "MEDICATION_NOT_RECOGNISED" not in codes(result)


def test_another_toxin_in_the_medication_list_is_flagged():
    result = run(REF, "onabotulinumtoxinA", ["Myobloc"])
    f = next(f for f in result.findings if f.code == "DRUG_INTERACTION")
    assert "other botulinum neurotoxin products" in f.message


@pytest.mark.parametrize("text", ["paracetamol", "Metformin 500 mg bd", "zzzz"])
def test_an_unknown_medicine_is_named_and_said_not_checked(text):
    result = run(REF, "onabotulinumtoxinA", [text])
    f = next(f for f in result.findings if f.code == "MEDICATION_NOT_RECOGNISED")
    assert text.lower().split()[0] in f.message and "not checked" in f.message
    assert f.severity == Severity.WARNING
    assert result.verdict == "warning"
    assert "DRUG_INTERACTION" not in codes(result)


def test_medication_not_recognised_is_a_warning():
    assert CODES["MEDICATION_NOT_RECOGNISED"] == Severity.WARNING


@pytest.mark.parametrize(("typed", "generic"), [
    ("baclophen", "baclofen"), ("gentamycin", "gentamicin"), ("tizanadine", "tizanidine"),
    ("oxybutinin", "oxybutynin"),
])
def test_a_plain_misspelling_close_to_one_medicine_is_read_as_it_and_said(typed, generic):
    result = run(REF, "onabotulinumtoxinA", [typed])
    f = next(f for f in result.findings if f.code == "DRUG_INTERACTION")
    assert f"read as {generic}" in f.message and typed in f.message


def test_a_name_close_to_several_medicines_is_not_guessed_but_suggested():
    result = run(REF, "onabotulinumtoxinA", ["tiotrospium"])  # tiotropium? trospium?
    assert "DRUG_INTERACTION" not in codes(result)
    f = next(f for f in result.findings if f.code == "MEDICATION_NOT_RECOGNISED")
    assert "tiotrospium" in f.message
    assert "Did you mean tiotropium or trospium?" in f.message


def test_a_combination_names_each_of_its_medicines():
    result = run(REF, "onabotulinumtoxinA", ["carisoprodol/paracetamol"])
    assert "DRUG_INTERACTION" in codes(result)
    f = next(f for f in result.findings if f.code == "MEDICATION_NOT_RECOGNISED")
    assert "paracetamol" in f.message


def test_case_and_dose_text_are_ignored(real_ref):
    for text in ("GENTAMICIN", "gentamicin 80 mg IV q8h", "Gentamicin sulfate 5 mg/kg"):
        match = real_ref.medication(text)
        assert match.known is not None and match.known.medicine == "gentamicin", text
        assert not match.read_as


def test_no_medications_gives_no_medication_finding():
    result = run(REF, "onabotulinumtoxinA", [])
    assert not {"DRUG_INTERACTION", "MEDICATION_NOT_RECOGNISED"} & set(codes(result))


def test_a_product_without_label_interactions_says_the_medicines_were_not_checked(check):
    from tests.conftest import adult_plan

    plan = adult_plan(product="othertoxinB",
                      patient={"birth_date": "1970-03-02", "medications": ["baclofen"]})
    result = check(plan)
    f = next(f for f in result.findings if f.code == "LIMIT_NOT_AVAILABLE"
             and "interactions" in f.message)
    assert "baclofen" in f.message
