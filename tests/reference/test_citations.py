"""Every number in the bundled reference data carries a source, and the source's quoted
words contain the number (or the entry says how it was derived)."""

from __future__ import annotations

import re
import typing
from decimal import Decimal

import pytest
from pydantic import BaseModel

from bontrack.reference import schema
from bontrack.reference.loader import _walk_cited
from bontrack.reference.schema import (
    AgeRange,
    Cited,
    CitedValue,
    CumulativeLimit,
    Interval,
    LabelEntry,
    MuscleLimit,
    Range,
    Reconstitution,
    Vial,
    WeightBasedLimit,
)

WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}


def numbers_in(quote: str) -> set[Decimal]:
    text = quote.lower().replace(",", "")
    found = {Decimal(x) for x in re.findall(r"\d+(?:\.\d+)?", text)}
    found |= {Decimal(n) for w, n in WORDS.items() if re.search(rf"\b{w}\b", text)}
    return found


def numbers_of(c: Cited) -> list[Decimal]:
    if isinstance(c, CitedValue):
        return [c.value]
    if isinstance(c, Range):
        return [v for v in (c.min, c.max) if v is not None]
    if isinstance(c, Vial):
        return [c.size_units]
    if isinstance(c, Interval):
        return [Decimal(v) for v in (c.days, c.weeks, c.months) if v is not None]
    if isinstance(c, WeightBasedLimit):
        return [c.max_units_per_kg] + ([c.cap_units] if c.cap_units else [])
    if isinstance(c, CumulativeLimit):
        return [v for v in (c.max_units, c.max_units_per_kg) if v is not None]
    if isinstance(c, MuscleLimit):
        return [c.max_units]
    if isinstance(c, Reconstitution):
        return [c.size_units, *c.diluent_ml]
    return []


def stated(value: Decimal, quote: str, trail: str) -> bool:
    nums = numbers_in(quote)
    if value in nums:
        return True
    if ".effect_course." in trail or trail.endswith("_days"):
        # "2 weeks" -> 14 days, "4 months" -> 120 days: the conversion is the only step.
        return value / 7 in nums or value / 30 in nums or value / 28 in nums
    return False


def age_stated(entry: LabelEntry, ages: AgeRange) -> list[int]:
    """Ages not in the quote, after the two readings the schema documents: 'adult' means 18
    and over, and a paediatric range ends at 17 (or at N-1 for 'below N years')."""
    q = ages.source.quote.lower()
    nums = numbers_in(q)
    missing = []
    for v in [ages.min] + ([ages.max] if ages.max is not None else []):
        if Decimal(v) in nums:
            continue
        if v == 18 and (entry.population == "adult" or "adult" in q):
            continue
        if v == 17 and entry.population == "pediatric":
            continue
        if v == 0 or (Decimal(v + 1) in nums and re.search(r"below|under|less than", q)):
            continue
        missing.append(v)
    return missing


def test_every_numeric_field_of_the_schema_sits_in_a_cited_model():
    """A structural guard: a new number added to the schema without a source fails here."""
    # TriageMatching and FuzzySpelling hold how patients' words are read (how many words
    # apart, how many letters wrong), not clinical numbers; the phrasing table in
    # tests/clinical/test_triage.py is what holds them to account.
    # The outcome-scale models (scales.yaml) cite papers in words rather than a document's
    # section: OutcomeScale.definition and ResponderDef.citation (required);
    # tests/reference/test_scales.py holds them to account.
    allowed_uncited = {"LabelEntry", "MetaFile", "Strict", "EffectCourse", "TriageMatching",
                       "FuzzySpelling", "ScaleGrade", "ScaleRange", "ResponderDef"}
    for name in dir(schema):
        model = getattr(schema, name)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        if issubclass(model, Cited) or model.__name__ in allowed_uncited:
            continue
        hints = typing.get_type_hints(model)
        for field, hint in hints.items():
            text = str(hint)
            assert "Decimal" not in text and "int" not in text.replace("Interval", ""), (
                f"{model.__name__}.{field} is a number outside a cited model"
            )


def test_every_label_entry_number_is_in_a_cited_model():
    for field, hint in typing.get_type_hints(LabelEntry).items():
        assert "Decimal" not in str(hint) and str(hint) != "int", field


def test_every_cited_value_names_a_known_document_and_a_section(real_ref):
    count = 0
    for pid, product in real_ref.products.items():
        for trail, c in _walk_cited(product, pid):
            count += 1
            assert c.source.document in real_ref.documents, trail
            assert c.source.section.strip() and c.source.quote.strip(), trail
            doc = real_ref.documents[c.source.document]
            assert doc.url.startswith("http") and doc.title and doc.revised, c.source.document
    assert count > 100


def test_every_number_is_in_its_quote_or_its_derivation_is_stated(real_ref):
    problems = []
    for pid, product in real_ref.products.items():
        for trail, c in _walk_cited(product, pid):
            if c.derivation:
                continue
            for v in numbers_of(c):
                if not stated(Decimal(v), c.source.quote, trail):
                    problems.append(f"{trail}: {v} not in {c.source.quote[:80]!r}")
        for i, entry in enumerate(product.labels):
            missing = age_stated(entry, entry.ages)
            if missing and not entry.ages.derivation:
                problems.append(f"{pid}.labels.{i}.ages: {missing} not in the quote")
    assert not problems, "\n".join(problems)


def test_secondary_sources_are_marked_as_such(real_ref):
    for key, doc in real_ref.documents.items():
        if key.startswith("sec_"):
            assert (
                "SECONDARY" in doc.title.upper()
                or "secondary" in doc.title.lower()
                or "summary" in doc.title.lower()
                or "monograph" in doc.title.lower()
            ), key


@pytest.mark.parametrize("kind", ["products", "indications", "muscles"])
def test_reference_holds_what_the_issue_names(real_ref, kind):
    need = {
        "products": {
            "onabotulinumtoxinA",
            "abobotulinumtoxinA",
            "incobotulinumtoxinA",
            "rimabotulinumtoxinB",
            "daxibotulinumtoxinA",
        },
        "indications": {
            "upper_limb_spasticity",
            "lower_limb_spasticity",
            "cervical_dystonia",
            "blepharospasm",
            "chronic_migraine",
            "axillary_hyperhidrosis",
            "glabellar_lines",
            "sialorrhea",
        },
        "muscles": {
            "biceps_brachii",
            "gastrocnemius_medial_head",
            "sternocleidomastoid",
            "procerus",
            "parotid_gland",
        },
    }[kind]
    assert need <= set(getattr(real_ref, kind))


def test_every_muscle_of_every_label_table_is_known(real_ref):
    for p in real_ref.products.values():
        for e in p.labels:
            for row in e.muscles:
                assert row.muscle in real_ref.muscles
