"""The medicines the labels name: every class has cited ATC groups, every member and brand
is in its source's quoted words, and every label's interaction names a class that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bontrack.errors import ReferenceDataError
from bontrack.reference import Reference, load_reference
from tests.conftest import build_fixture_dir

ROOT = Path(__file__).resolve().parents[2]
GAPS = (ROOT / "docs" / "reference-gaps.md").read_text().lower()
CLASSES_THE_LABELS_NAME = {
    "aminoglycosides", "neuromuscular_blockers", "anticholinergics", "muscle_relaxants",
    "botulinum_toxins",
}


def plain(text: str) -> str:
    return re.sub(r"[®™]", "", text).lower()


def test_every_class_the_labels_name_is_in_the_reference(real_ref: Reference):
    assert set(real_ref.drug_classes) >= CLASSES_THE_LABELS_NAME


@pytest.mark.parametrize("class_id", sorted(CLASSES_THE_LABELS_NAME))
def test_every_class_has_atc_groups_printed_in_their_sources(real_ref: Reference, class_id):
    d = real_ref.drug_classes[class_id]
    assert d.atc, class_id
    for group in d.atc:
        assert group.code in group.source.quote, (class_id, group.code)
        assert group.source.document in real_ref.documents
        doc = real_ref.documents[group.source.document]
        assert doc.url.startswith("http") and doc.title and doc.revised


@pytest.mark.parametrize("class_id", sorted(CLASSES_THE_LABELS_NAME))
def test_every_member_code_is_printed_in_its_source_and_belongs_to_the_class(
        real_ref: Reference, class_id):
    d = real_ref.drug_classes[class_id]
    groups = [g.code for g in d.atc]
    for m in d.members:
        assert m.source.document in real_ref.documents, m.name
        for code in m.atc:
            assert code in m.source.quote, (m.name, code)
            assert any(code.startswith(g) for g in groups), (m.name, code, groups)


@pytest.mark.parametrize("class_id", sorted(CLASSES_THE_LABELS_NAME))
def test_every_brand_name_is_printed_in_its_source(real_ref: Reference, class_id):
    for m in real_ref.drug_classes[class_id].members:
        for group in m.brands:
            assert group.source.document in real_ref.documents, m.name
            for brand in group.names:
                assert plain(brand) in plain(group.source.quote), (m.name, brand)


def test_every_member_without_a_code_is_listed_as_a_gap(real_ref: Reference):
    missing = [m.name for d in real_ref.drug_classes.values() for m in d.members
               if not m.atc and m.name not in GAPS]
    assert not missing, f"members without an ATC code and not in reference-gaps.md: {missing}"


def test_the_class_of_other_toxins_is_the_product_files(real_ref: Reference):
    members = real_ref.class_members("botulinum_toxins")
    assert set(real_ref.products) <= set(members)


@pytest.mark.parametrize("product_id", [
    "onabotulinumtoxinA", "abobotulinumtoxinA", "incobotulinumtoxinA", "rimabotulinumtoxinB",
    "daxibotulinumtoxinA",
])
def test_every_label_names_its_interactions_and_each_names_a_known_class(
        real_ref: Reference, product_id):
    product = real_ref.products[product_id]
    assert product.interactions, f"{product_id} has no interactions"
    named = {real_ref.drug_class_id(ix.drug_class) for ix in product.interactions}
    assert None not in named
    assert {"aminoglycosides", "neuromuscular_blockers", "anticholinergics",
            "muscle_relaxants"} <= named


def test_secondary_interaction_sources_say_so_in_their_title(real_ref: Reference):
    for pid in ("abobotulinumtoxinA", "incobotulinumtoxinA"):
        for ix in real_ref.products[pid].interactions:
            assert "SECONDARY" in real_ref.documents[ix.source.document].title, pid


def test_an_interaction_naming_no_known_class_is_refused(tmp_path: Path):
    ref_dir = build_fixture_dir(tmp_path / "ref")
    path = ref_dir / "products" / "testotoxinA.yaml"
    path.write_text(path.read_text().replace(
        "drug_class: aminoglycosides", "drug_class: aminoglycocides"))
    with pytest.raises(ReferenceDataError) as err:
        load_reference(ref_dir)
    assert "product.interactions.0.drug_class" in str(err.value)
    assert "aminoglycocides" in str(err.value)


def test_a_class_defined_in_two_files_is_refused(tmp_path: Path):
    ref_dir = build_fixture_dir(tmp_path / "ref")
    meds = (ref_dir / "medicines.yaml").read_text()
    block = meds[meds.index("  - id: muscle_relaxants"):meds.index("  # --- BOTOX 7.3")]
    docs = meds[meds.index("documents:"):meds.index("drug_classes:")]
    safety = (ref_dir / "safety.yaml").read_text()
    # the class needs its documents in safety.yaml too: copy them under safety's documents
    extra = "\n".join(docs.splitlines()[1:])
    safety = safety.replace("documents:\n", "documents:\n" + extra + "\n", 1)
    (ref_dir / "safety.yaml").write_text(safety + "drug_classes:\n" + block)
    with pytest.raises(ReferenceDataError) as err:
        load_reference(ref_dir)
    assert "muscle_relaxants" in str(err.value) and "twice" in str(err.value)
