"""Patient rules on the synthetic label: label coverage, ages, conditions, medications."""

from __future__ import annotations

import pytest

from tests.conftest import adult_plan, codes


def test_warns_when_the_product_has_no_label_for_the_indication(check):
    plan = adult_plan(
        indication="sialorrhea",
        injections=[{"muscle": "parotid_gland", "side": "left", "units": 30}],
    )
    result = check(plan)
    assert "INDICATION_NOT_LABELLED" in codes(result)
    # never a silent OK: what could not run without a label entry is named
    lna = next(f for f in result.findings if f.code == "LIMIT_NOT_AVAILABLE")
    assert {"session", "interval", "per_muscle", "per_site"} <= set(lna.checks)
    assert "cumulative" not in lna.checks  # the product's 3-month limit still applies


def test_warns_when_the_age_is_outside_the_labelled_ages(check):
    plan = adult_plan(
        indication="glabellar_lines",
        patient={"age_years": 70},
        injections=[{"muscle": "procerus", "side": "midline", "units": 4}],
    )
    f = next(f for f in check(plan).findings if f.code == "AGE_OUTSIDE_LABEL")
    assert f.value == 70 and "18-65" in f.message


def test_a_not_established_entry_is_cited_for_a_child(check):
    plan = adult_plan(
        indication="glabellar_lines",
        patient={"age_years": 12, "weight_kg": 40},
        injections=[{"muscle": "procerus", "side": "midline", "units": 4}],
    )
    f = next(f for f in check(plan).findings if f.code == "AGE_OUTSIDE_LABEL")
    assert f.source is not None


def test_child_under_the_labelled_age_gets_age_warning(check):
    plan = adult_plan(
        patient={"age_years": 1, "weight_kg": 9},
        injections=[{"muscle": "biceps_brachii", "side": "left", "units": 10}],
    )
    assert "AGE_OUTSIDE_LABEL" in codes(check(plan))


@pytest.mark.parametrize(
    ("flag", "code"),
    [
        ("infection_at_injection_site", "CONTRAINDICATED"),
        ("hypersensitivity_to_product", "CONTRAINDICATED"),
        ("myasthenia_gravis", "NEUROMUSCULAR_DISORDER"),
        ("Lambert-Eaton myasthenic syndrome", "NEUROMUSCULAR_DISORDER"),
        ("dysphagia", "DYSPHAGIA_RISK"),
        ("breathing_difficulty", "DYSPHAGIA_RISK"),
        ("pregnancy", "PREGNANCY_OR_BREASTFEEDING"),
    ],
)
def test_patient_conditions_raise_the_labelled_finding(check, flag, code):
    plan = adult_plan(patient={"birth_date": "1970-03-02", "conditions": [flag]})
    assert code in codes(check(plan))


def test_contraindication_is_a_stop(check):
    plan = adult_plan(
        patient={"birth_date": "1970-03-02", "conditions": ["infection_at_injection_site"]}
    )
    assert check(plan).verdict == "stop"


@pytest.mark.parametrize("med", ["gentamicin", "Tobramycin", "aminoglycoside", "amikacin"])
def test_aminoglycosides_are_flagged_as_interactions(check, med):
    plan = adult_plan(patient={"birth_date": "1970-03-02", "medications": [med]})
    assert "DRUG_INTERACTION" in codes(check(plan))


def test_unrelated_medication_is_not_flagged(check):
    plan = adult_plan(patient={"birth_date": "1970-03-02", "medications": ["paracetamol"]})
    assert "DRUG_INTERACTION" not in codes(check(plan))


def test_history_after_the_plan_day_is_ignored_and_said(check):
    history = [
        {
            "date": "2027-01-01",
            "product": "testotoxinA",
            "indication": "upper_limb_spasticity",
            "total_units": 300,
        }
    ]
    result = check(adult_plan(history=history))
    assert "HISTORY_AFTER_PLAN_DATE" in codes(result)
    assert "RETREATMENT_TOO_SOON" not in codes(result)
    assert "CUMULATIVE_MAX_EXCEEDED" not in codes(result)


def test_missing_limits_are_said_not_silently_skipped(check):
    plan = adult_plan(
        indication="cervical_dystonia",
        product="othertoxinB",
        injections=[{"muscle": "splenius_capitis", "side": "left", "units": 2500}],
    )
    result = check(plan)
    lna = next(f for f in result.findings if f.code == "LIMIT_NOT_AVAILABLE")
    assert "cumulative" not in lna.checks  # a cumulative limit exists
    assert "session" in lna.checks and "session" in result.checks_not_available
