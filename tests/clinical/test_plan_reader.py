"""Malformed plans: every field gives a clear error naming the field, never a crash."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bontrack.clinical.plan import read_plan
from bontrack.errors import PlanError, UnknownNameError
from tests.conftest import adult_plan


def broken(path: str, value: Any) -> dict[str, Any]:
    """A valid plan with the field at ``path`` (dotted; '-' deletes it) replaced."""
    doc = copy.deepcopy(
        adult_plan(
            vials=[
                {
                    "size_units": 100,
                    "diluent_ml": 2,
                    "reconstituted_at": "2026-11-24T08:00",
                    "lot": "A1",
                    "expiry": "2027-01-01",
                }
            ],
            history=[
                {
                    "date": "2026-06-01",
                    "product": "testotoxinA",
                    "indication": "upper_limb_spasticity",
                    "total_units": 100,
                }
            ],
        )
    )
    parts = path.split(".")
    target: Any = doc
    for p in parts[:-1]:
        target = target[int(p)] if isinstance(target, list) else target[p]
    key: Any = int(parts[-1]) if isinstance(target, list) else parts[-1]
    if value == "-":
        del target[key]
    else:
        target[key] = value
    return doc


CASES = [
    # (path, value, field named in the error, words in the reason)
    ("date", "-", "date", "required"),
    ("date", "yesterday", "date", "YYYY-MM-DD"),
    ("date", "2026-02-30", "date", "YYYY-MM-DD"),
    ("date", 20261124, "date", "YYYY-MM-DD"),
    ("patient", "-", "patient", "required"),
    ("patient", "Jane", "patient", "mapping"),
    ("patient.birth_date", "-", "patient.birth_date", "required"),
    ("patient.birth_date", "2030-01-01", "patient.birth_date", "after the plan date"),
    ("patient.birth_date", "1700-01-01", "patient.birth_date", "plausible"),
    ("patient.weight_kg", -3, "patient.weight_kg", "greater than 0"),
    ("patient.weight_kg", "heavy", "patient.weight_kg", "number"),
    ("patient.weight_kg", 900, "patient.weight_kg", "plausible"),
    ("patient.weight_kg", float("nan"), "patient.weight_kg", "finite"),
    ("patient.conditions", "myasthenia", "patient.conditions", "list"),
    ("patient.conditions", ["myastenia_gravis"], "patient.conditions.0", "myasthenia_gravis"),
    ("patient.medications", [{"x": 1}], "patient.medications.0", "text"),
    ("patient.shoe_size", 42, "patient.shoe_size", "unknown field"),
    ("product", "-", "product", "required"),
    ("product", "Botoks", "product", "unknown product"),
    ("product", 42, "product", "unknown product"),
    ("indication", "cervical_dystonai", "indication", "cervical_dystonia"),
    ("indication", ["a"], "indication", "text"),
    ("injections", "-", "injections", "required"),
    ("injections", [], "injections", "at least one"),
    ("injections", {"muscle": "x"}, "injections", "list"),
    ("injections.0", "biceps", "injections.0", "mapping"),
    ("injections.0.muscle", "-", "injections.0.muscle", "required"),
    ("injections.0.muscle", "bicep_brachii", "injections.0.muscle", "biceps_brachii"),
    ("injections.0.side", "up", "injections.0.side", "left, right, midline"),
    ("injections.0.side", "midline", "injections.0.side", "paired"),
    ("injections.0.units", 0, "injections.0.units", "greater than 0"),
    ("injections.0.units", -10, "injections.0.units", "greater than 0"),
    ("injections.0.units", True, "injections.0.units", "number"),
    ("injections.0.units", "1e999999", "injections.0.units", "plausible"),
    ("injections.0.units", "NaN", "injections.0.units", "finite"),
    ("injections.0.units", "ten", "injections.0.units", "number"),
    ("injections.0.units", 1e12, "injections.0.units", "plausible"),
    ("injections.0.sites", 0, "injections.0.sites", "at least 1"),
    ("injections.0.sites", 2.5, "injections.0.sites", "whole number"),
    ("injections.0.guidance", "xray", "injections.0.guidance", "ultrasound"),
    ("injections.0.depth", 3, "injections.0.depth", "unknown field"),
    ("vials", {"size_units": 100}, "vials", "list"),
    ("vials.0.size_units", "-", "vials.0.size_units", "required"),
    ("vials.0.size_units", 0, "vials.0.size_units", "greater than 0"),
    ("vials.0.diluent_ml", "two", "vials.0.diluent_ml", "number"),
    ("vials.0.reconstituted_at", "morning", "vials.0.reconstituted_at", "YYYY-MM-DDTHH:MM"),
    ("vials.0.reconstituted_at", "2026-12-01T08:00", "vials.0.reconstituted_at", "after"),
    ("vials.0.expiry", "soon", "vials.0.expiry", "YYYY-MM-DD"),
    ("vials.0.lot", "", "vials.0.lot", "empty"),
    ("history", "none", "history", "list"),
    ("history.0.date", "-", "history.0.date", "required"),
    ("history.0.product", "Dysprot", "history.0.product", "unknown product"),
    ("history.0.total_units", -1, "history.0.total_units", "greater than 0"),
    ("surgeon", "x", "surgeon", "unknown field"),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"), CASES, ids=[f"{c[0]}={c[1]!r}" for c in CASES]
)
def test_malformed_field_is_named_in_the_error(fixture_ref, path, value, field, reason):
    with pytest.raises(PlanError) as err:
        read_plan(broken(path, value), fixture_ref, where="plan.yaml")
    assert err.value.field == field
    assert reason in err.value.reason
    assert str(err.value).startswith("plan.yaml: ")


@pytest.mark.parametrize("doc", [None, [], "text", 42, {1: 2}])
def test_a_document_that_is_not_a_mapping_is_refused(fixture_ref, doc):
    with pytest.raises(PlanError):
        read_plan(doc, fixture_ref)


def test_a_child_without_weight_is_refused(fixture_ref):
    doc = adult_plan(patient={"birth_date": "2016-05-01"})
    with pytest.raises(PlanError, match=r"patient\.weight_kg: is required for patients under 18"):
        read_plan(doc, fixture_ref)


def test_age_and_birth_date_must_agree(fixture_ref):
    doc = adult_plan(patient={"birth_date": "1970-03-02", "age_years": 30})
    with pytest.raises(PlanError, match="disagrees"):
        read_plan(doc, fixture_ref)


def test_unknown_names_carry_suggestions(fixture_ref):
    with pytest.raises(UnknownNameError) as err:
        read_plan(broken("injections.0.muscle", "gastrocnemius medial"), fixture_ref)
    assert "gastrocnemius_medial_head" in err.value.suggestions


def test_brand_names_and_synonyms_are_accepted(fixture_ref):
    doc = adult_plan(product="testox", indication="ULS")
    doc["injections"][0]["muscle"] = "Biceps"
    plan = read_plan(doc, fixture_ref)
    assert (plan.product, plan.indication, plan.injections[0].muscle) == (
        "testotoxinA",
        "upper_limb_spasticity",
        "biceps_brachii",
    )


def test_at_checks_the_plan_for_another_day(fixture_ref):
    from datetime import date

    plan = read_plan(adult_plan(), fixture_ref, on=date(2027, 1, 5))
    assert plan.date == date(2027, 1, 5)
