"""The rule kinds of issue 13 on the synthetic label: a recommended range is not a maximum,
muscles that share a label row are checked together, cumulative limits per indication and per
treatment session, and never a silent OK (LIMIT_NOT_AVAILABLE names what did not run)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bontrack.cli.render import check_report, verdict_line
from bontrack.clinical.findings import CHECK_FAMILIES
from bontrack.clinical.result import result_dict
from tests.conftest import adult_plan, codes


def inj(muscle: str, units: Any, sites: int = 1, side: str = "left") -> dict[str, Any]:
    return {"muscle": muscle, "side": side, "units": units, "sites": sites}


def hist(day: str, indication: str, units: Any, product: str = "testotoxinA") -> dict[str, Any]:
    return {"date": day, "product": product, "indication": indication, "total_units": units}


def legs(units: int) -> list[dict[str, Any]]:
    return [inj("soleus", units // 2, 4, "left"), inj("soleus", units - units // 2, 4, "right")]


# -- a range is not a maximum ---------------------------------------------------------------


def test_above_the_recommended_range_within_every_maximum_is_a_warning_not_a_stop(check):
    at = check(adult_plan(indication="lower_limb_spasticity", injections=legs(400)))
    assert "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE" not in codes(at)
    over = check(adult_plan(indication="lower_limb_spasticity", injections=legs(401)))
    f = next(f for f in over.findings if f.code == "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE")
    assert (f.value, f.limit, f.severity.label) == (401, 400, "warning")
    assert "not a maximum" in f.message
    assert "SESSION_MAX_EXCEEDED" not in codes(over)


@settings(max_examples=40, deadline=None)
@given(units=st.integers(min_value=401, max_value=500))
def test_any_dose_between_the_range_and_the_session_maximum_warns_and_never_stops(
    fixture_ref, units
):
    from bontrack.clinical.check import check_plan
    from bontrack.clinical.plan import read_plan

    doc = adult_plan(indication="lower_limb_spasticity", injections=legs(units))
    result = check_plan(read_plan(doc, fixture_ref), fixture_ref)
    assert "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE" in codes(result)
    stops = [f.code for f in result.findings if f.severity.label == "stop"]
    # the only stops possible here are the maxima: 3-month 400 U (from 401) and session 500 U
    assert set(stops) <= {"CUMULATIVE_MAX_EXCEEDED", "SESSION_MAX_EXCEEDED"}
    assert ("SESSION_MAX_EXCEEDED" in stops) is (units > 500)


def test_a_childs_recommended_dose_per_kg_is_a_warning(check):
    # usual 3 U/kg x 30 kg = 90 (cap 120); the per-limb maximum 4 U/kg x 30 = 120 per leg
    child = {"age_years": 8, "weight_kg": 30}
    ok = check(adult_plan(patient=child, indication="lower_limb_spasticity",
                          injections=[inj("soleus", 90, 2)]))
    assert "WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE" not in codes(ok)
    over = check(adult_plan(patient=child, indication="lower_limb_spasticity",
                            injections=[inj("soleus", 91, 2)]))
    f = next(f for f in over.findings if f.code == "WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE")
    assert (f.value, f.limit) == (91, 90) and over.verdict == "warning"


# -- muscles sharing a label row ------------------------------------------------------------


def test_muscles_sharing_one_label_row_are_summed_and_named_together(check, fixture_ref):
    ok = check(adult_plan(injections=[inj("flexor_pollicis_brevis", 15),
                                      inj("opponens_pollicis", 15)]))
    assert "MUSCLE_DOSE_ABOVE_RANGE" not in codes(ok)
    over = check(adult_plan(injections=[inj("flexor_pollicis_brevis", 16),
                                        inj("opponens_pollicis", 15)]))
    found = [f for f in over.findings if f.code == "MUSCLE_DOSE_ABOVE_RANGE"]
    assert len(found) == 1
    f = found[0]
    assert (f.value, f.limit, f.side) == (31, 30, "left")
    assert f.muscles == ("flexor_pollicis_brevis", "opponens_pollicis")
    assert "Flexor pollicis brevis" in f.message and "pponens pollicis" in f.message
    assert json.loads(json.dumps(result_dict(over, fixture_ref)))["findings"][0]["muscles"]


def test_a_shared_row_is_per_side(check):
    result = check(adult_plan(injections=[inj("flexor_pollicis_brevis", 30, 1, "left"),
                                          inj("opponens_pollicis", 30, 1, "right")]))
    assert "MUSCLE_DOSE_ABOVE_RANGE" not in codes(result)


def test_one_muscle_of_a_shared_row_alone_is_compared_with_the_row(check):
    result = check(adult_plan(injections=[inj("opponens_pollicis", 31)]))
    f = next(f for f in result.findings if f.code == "MUSCLE_DOSE_ABOVE_RANGE")
    assert (f.muscle, f.limit) == ("opponens_pollicis", 30)


# -- incomplete tables ----------------------------------------------------------------------


def test_a_muscle_missing_from_an_incomplete_copy_is_not_said_to_be_missing_from_the_label(
    check,
):
    result = check(adult_plan(indication="chronic_migraine",
                              injections=[inj("temporalis", 20, 4)]))
    f = next(f for f in result.findings if f.code == "MUSCLE_NOT_IN_REFERENCE_TABLE")
    assert "not in bontrack's copy" in f.message and "not in the label" not in f.message
    assert "MUSCLE_NOT_IN_LABEL_TABLE" not in codes(result)
    lna = next(f for f in result.findings if f.code == "LIMIT_NOT_AVAILABLE")
    assert "per_muscle" in lna.checks and "Temporalis" in lna.message


def test_a_muscle_missing_from_a_complete_table_is_not_in_the_label(check):
    result = check(adult_plan(injections=[inj("triceps_brachii", 50, 2)]))
    assert "MUSCLE_NOT_IN_LABEL_TABLE" in codes(result)
    assert "MUSCLE_NOT_IN_REFERENCE_TABLE" not in codes(result)


# -- cumulative limits: per indication, per session -----------------------------------------


def test_an_indication_limit_counts_only_its_indication_within_its_window(check):
    bleph = [inj("orbicularis_oculi", 50, 10)]
    history = [hist("2026-10-26", "blepharospasm", 151)]  # 29 days before
    f = next(
        f
        for f in check(adult_plan(indication="blepharospasm", injections=bleph,
                                  history=history)).findings
        if f.code == "CUMULATIVE_MAX_EXCEEDED" and f.limit == 200
    )
    assert f.value == 201 and "blepharospasm" in f.message
    history[0]["total_units"] = 150
    assert not any(
        f.code == "CUMULATIVE_MAX_EXCEEDED" and f.limit == 200
        for f in check(adult_plan(indication="blepharospasm", injections=bleph,
                                  history=history)).findings
    )
    # 30 days before: outside the 30-day window
    history = [hist("2026-10-25", "blepharospasm", 151)]
    assert "CUMULATIVE_MAX_EXCEEDED" not in codes(
        check(adult_plan(indication="blepharospasm", injections=bleph, history=history))
    )
    # another indication's units do not count toward the blepharospasm limit
    history = [hist("2026-11-20", "cervical_dystonia", 151)]
    assert not any(
        f.limit == 200
        for f in check(adult_plan(indication="blepharospasm", injections=bleph,
                                  history=history)).findings
    )


def test_a_session_limit_across_indications_counts_the_same_day_only(check):
    arm = [inj("biceps_brachii", 150, 4), inj("flexor_carpi_radialis", 50, 1)]  # 200 U
    same_day = [hist("2026-11-24", "lower_limb_spasticity", 301)]
    f = next(
        f
        for f in check(adult_plan(injections=arm, history=same_day)).findings
        if f.code == "CUMULATIVE_MAX_EXCEEDED" and f.limit == 500
    )
    assert f.value == 501 and "one treatment session" in f.message
    same_day[0]["total_units"] = 300
    assert not any(
        f.limit == 500 for f in check(adult_plan(injections=arm, history=same_day)).findings
    )
    # a day earlier is another session (the 3-month limit still counts it)
    earlier = [hist("2026-11-23", "lower_limb_spasticity", 301)]
    assert not any(
        f.limit == 500 for f in check(adult_plan(injections=arm, history=earlier)).findings
    )


def test_a_plan_alone_above_a_session_limit_for_any_indication_is_session_max_exceeded(check):
    result = check(adult_plan(indication="lower_limb_spasticity", injections=legs(501)))
    f = next(f for f in result.findings if f.code == "SESSION_MAX_EXCEEDED")
    assert (f.value, f.limit) == (501, 500) and result.verdict == "stop"


def test_another_products_units_never_count_toward_a_session_limit(check):
    arm = [inj("biceps_brachii", 150, 4), inj("flexor_carpi_radialis", 50, 1)]
    other = [hist("2026-11-24", "lower_limb_spasticity", 5000, product="othertoxinB")]
    result = check(adult_plan(injections=arm, history=other))
    assert "CUMULATIVE_MAX_EXCEEDED" not in codes(result)
    assert "UNITS_NOT_INTERCHANGEABLE" in codes(result)


# -- never a silent OK ----------------------------------------------------------------------


def test_checks_that_could_not_run_are_listed_machine_readably(check, fixture_ref):
    result = check(adult_plan(indication="lower_limb_spasticity", injections=legs(300)))
    lna = next(f for f in result.findings if f.code == "LIMIT_NOT_AVAILABLE")
    assert set(lna.checks) == {"per_muscle", "per_site"}
    assert set(lna.checks) <= set(CHECK_FAMILIES)
    doc = result_dict(result, fixture_ref)
    assert doc["verdict"] == "ok"
    assert doc["checks_not_available"] == ["per_muscle", "per_site"]
    f = next(f for f in doc["findings"] if f["code"] == "LIMIT_NOT_AVAILABLE")
    assert f["checks"] == ["per_muscle", "per_site"]


def test_a_child_without_a_per_kg_limit_is_told_so(check):
    result = check(adult_plan(patient={"age_years": 8, "weight_kg": 30},
                              product="othertoxinB", indication="cervical_dystonia",
                              injections=[inj("splenius_capitis", 10)]))
    assert "AGE_OUTSIDE_LABEL" in codes(result)
    assert {"session", "per_kg", "cumulative", "interval"} <= set(result.checks_not_available)
    # the product-wide 10 U/kg cumulative limit of testotoxinA covers a child's dose per kg
    covered = check(adult_plan(patient={"age_years": 8, "weight_kg": 30},
                               indication="cervical_dystonia",
                               injections=[inj("splenius_capitis", 10)]))
    assert "per_kg" not in covered.checks_not_available


def test_a_fully_checked_plan_lists_nothing_as_unavailable(check):
    result = check(adult_plan())
    assert "LIMIT_NOT_AVAILABLE" not in codes(result)
    assert result.checks_not_available == ()


def test_per_site_volume_without_a_known_dilution_is_not_available(check):
    # blepharospasm here has a per-site units limit: available with or without vials
    result = check(adult_plan(indication="blepharospasm",
                              injections=[inj("orbicularis_oculi", 10, 4)]))
    assert "per_site" not in result.checks_not_available


def _text(renderable: Any) -> str:
    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(renderable)
    return console.export_text()


def test_the_readable_report_says_ok_with_the_number_of_checks_not_available(check, fixture_ref):
    result = check(adult_plan(indication="lower_limb_spasticity", injections=legs(300)))
    doc = result_dict(result, fixture_ref)
    assert verdict_line(doc) == "ok — 2 checks not available"
    text = _text(check_report(doc))
    assert "ok — 2 checks not available" in text.lower() or "OK — 2 checks not available" in text
    assert "No findings" not in text


def test_the_readable_report_never_says_a_bare_no_findings(check, fixture_ref):
    doc = result_dict(check(adult_plan()), fixture_ref)
    assert doc["findings"] == [] and doc["checks_not_available"] == []
    text = _text(check_report(doc))
    assert "every check ran" in text
    assert verdict_line(doc) == "ok — every check ran"


def test_units_stay_decimal_in_shared_rows(check):
    result = check(adult_plan(injections=[inj("flexor_pollicis_brevis", "15.5"),
                                          inj("opponens_pollicis", "15")]))
    f = next(f for f in result.findings if f.code == "MUSCLE_DOSE_ABOVE_RANGE")
    assert f.value == Decimal("30.5")
