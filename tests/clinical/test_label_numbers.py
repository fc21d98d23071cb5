"""The label cases of issue 13, pinned on the bundled reference data: a range is not a
maximum, shared label rows, cumulative limits across indications (bladder included), per
session for any indication, combined maxima, and never a silent OK."""

from __future__ import annotations

from typing import Any

import pytest

from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.plan import read_plan
from bontrack.reference import default_reference

REF = default_reference()
DAY = "2026-11-24"
ADULT = {"age_years": 50, "weight_kg": 70}


def run(
    product: str, indication: str, injections: list[dict[str, Any]], **extra: Any
) -> CheckResult:
    doc: dict[str, Any] = {
        "date": DAY,
        "patient": extra.pop("patient", ADULT),
        "product": product,
        "indication": indication,
        "injections": injections,
    }
    doc.update(extra)
    return check_plan(read_plan(doc, REF), REF)


def inj(muscle: str, units: Any, sites: int = 4, side: str = "left") -> dict[str, Any]:
    return {"muscle": muscle, "side": side, "units": units, "sites": sites}


def hist(day: str, product: str, indication: str, units: Any) -> dict[str, Any]:
    return {"date": day, "product": product, "indication": indication, "total_units": units}


def codes(r: CheckResult) -> set[str]:
    return {f.code for f in r.findings}


def stops(r: CheckResult) -> set[str]:
    return {f.code for f in r.findings if f.severity.label == "stop"}


def arm(total: int) -> list[dict[str, Any]]:
    """An adult arm plan of ``total`` units over biceps, brachialis and FCR-side muscles."""
    return [inj("biceps_brachii", total // 2, 4), inj("brachialis", total - total // 2, 4)]


# -- DYSPORT: 500-1000 U is the upper-limb range; 1500 U is the upper + lower limb maximum ---


def test_dysport_1400_units_upper_limb_only_warns_and_does_not_stop():
    r = run("DYSPORT", "upper_limb_spasticity", arm(1400))
    f = next(f for f in r.findings if f.code == "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE")
    assert (f.value, f.limit, f.severity.label) == (1400, 1000, "warning")
    assert "SESSION_MAX_EXCEEDED" not in codes(r)


@pytest.mark.parametrize(("units", "stop"), [(1000, False), (1500, False), (1501, True)])
def test_dysport_upper_limb_alone_stops_only_above_the_combined_1500_units(units, stop):
    r = run("DYSPORT", "upper_limb_spasticity", arm(units))
    assert ("SESSION_MAX_EXCEEDED" in stops(r)) is stop


def test_dysport_upper_and_lower_limb_on_one_day_count_toward_1500_units():
    legs = hist(DAY, "abobotulinumtoxinA", "lower_limb_spasticity", 600)
    r = run("DYSPORT", "upper_limb_spasticity", arm(901), history=[legs])
    f = next(f for f in r.findings if f.code == "CUMULATIVE_MAX_EXCEEDED")
    assert (f.value, f.limit) == (1501, 1500)
    ok = run("DYSPORT", "upper_limb_spasticity", arm(900), history=[legs])
    assert "CUMULATIVE_MAX_EXCEEDED" not in codes(ok)


def test_dysport_child_upper_and_lower_limb_on_one_day_count_toward_30_units_per_kg():
    child = {"age_years": 8, "weight_kg": 20}  # 30 U/kg x 20 kg = 600 (< 1000)
    legs = hist(DAY, "abobotulinumtoxinA", "lower_limb_spasticity", 300)
    r = run("DYSPORT", "upper_limb_spasticity", [inj("biceps_brachii", 301, 4)],
            patient=child, history=[legs])
    f = next(f for f in r.findings if f.code == "CUMULATIVE_MAX_EXCEEDED")
    assert (f.value, f.limit) == (601, 600)


# -- XEOMIN: shared thumb row; 400 U per session for any indication --------------------------


def test_xeomin_flexor_pollicis_brevis_and_opponens_share_one_5_to_30_unit_row():
    pair = [inj("flexor_pollicis_brevis", 20, 1), inj("opponens_pollicis", 20, 1)]
    r = run("XEOMIN", "upper_limb_spasticity", pair)
    found = [f for f in r.findings if f.code == "MUSCLE_DOSE_ABOVE_RANGE"]
    assert len(found) == 1
    f = found[0]
    assert (f.value, f.limit) == (40, 30)
    assert set(f.muscles) == {"flexor_pollicis_brevis", "opponens_pollicis"}
    assert "Flexor pollicis brevis" in f.message and "pponens pollicis" in f.message


def test_xeomin_400_units_per_session_counts_every_indication_of_the_day():
    neck = hist(DAY, "incobotulinumtoxinA", "cervical_dystonia", 150)
    r = run("XEOMIN", "upper_limb_spasticity", arm(251), history=[neck])
    f = next(f for f in r.findings if f.code == "CUMULATIVE_MAX_EXCEEDED")
    assert (f.value, f.limit) == (401, 400)
    assert "CUMULATIVE_MAX_EXCEEDED" not in codes(
        run("XEOMIN", "upper_limb_spasticity", arm(250), history=[neck])
    )


def test_xeomin_401_units_in_one_plan_is_a_session_stop():
    r = run("XEOMIN", "upper_limb_spasticity", arm(401))
    f = next(f for f in r.findings if f.code == "SESSION_MAX_EXCEEDED")
    assert f.limit == 400


def test_xeomin_upper_facial_lines_stop_above_64_units_together():
    r = run("XEOMIN", "upper_facial_lines", [inj("frontalis", 65, 10, "left")])
    assert "SESSION_MAX_EXCEEDED" in stops(r)
    gl = hist(DAY, "incobotulinumtoxinA", "glabellar_lines", 20)
    r = run("XEOMIN", "lateral_canthal_lines", [inj("orbicularis_oculi", 45, 6)], history=[gl])
    assert any(f.code == "CUMULATIVE_MAX_EXCEEDED" and f.limit == 64 for f in r.findings)


# -- BOTOX: bladder counts toward 400 U / 3 months; blepharospasm 200 U / 30 days -------------


def test_botox_bladder_injections_count_toward_the_adult_400_units_in_3_months():
    bladder = hist("2026-10-01", "onabotulinumtoxinA", "overactive_bladder", 100)
    r = run("BOTOX", "upper_limb_spasticity", arm(301), history=[bladder])
    f = next(f for f in r.findings if f.code == "CUMULATIVE_MAX_EXCEEDED")
    assert (f.value, f.limit) == (401, 400)
    assert "overactive bladder" in f.message


def test_an_arm_dose_counts_toward_a_bladder_plan_too():
    arm_before = hist("2026-10-01", "onabotulinumtoxinA", "upper_limb_spasticity", 250)
    ndo = [inj("detrusor", 200, 30, "midline")]
    r = run("BOTOX", "neurogenic_detrusor_overactivity", ndo, history=[arm_before])
    assert "CUMULATIVE_MAX_EXCEEDED" in stops(r)


def test_botox_overactive_bladder_100_units_in_20_sites_is_the_label_dose():
    r = run("BOTOX", "overactive_bladder", [inj("detrusor", 100, 20, "midline")])
    assert r.verdict == "ok"
    assert not {"SESSION_DOSE_ABOVE_RECOMMENDED_RANGE", "MUSCLE_DOSE_ABOVE_RANGE"} & codes(r)
    more = run("BOTOX", "overactive_bladder", [inj("detrusor", 150, 20, "midline")])
    assert "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE" in codes(more) and not stops(more)


def test_botox_child_ndo_recommended_dose_is_6_units_per_kg_up_to_200():
    child = {"age_years": 9, "weight_kg": 25}  # 6 x 25 = 150
    ok = run("BOTOX", "neurogenic_detrusor_overactivity", [inj("detrusor", 150, 30, "midline")],
             patient=child)
    assert "WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE" not in codes(ok)
    over = run("BOTOX", "neurogenic_detrusor_overactivity",
               [inj("detrusor", 151, 30, "midline")], patient=child)
    f = next(f for f in over.findings if f.code == "WEIGHT_BASED_DOSE_ABOVE_RECOMMENDED_RANGE")
    assert f.limit == 150


def test_botox_blepharospasm_200_units_in_30_days():
    earlier = hist("2026-11-10", "onabotulinumtoxinA", "blepharospasm", 150)
    r = run("BOTOX", "blepharospasm", [inj("orbicularis_oculi", 51, 11)], history=[earlier])
    f = next(f for f in r.findings if f.code == "CUMULATIVE_MAX_EXCEEDED" and f.limit == 200)
    assert f.value == 201
    # the 3-month interval is its own stop; the 30-day sum is what this test is about
    older = hist("2026-10-24", "onabotulinumtoxinA", "blepharospasm", 150)  # 31 days before
    r = run("BOTOX", "blepharospasm", [inj("orbicularis_oculi", 51, 11)], history=[older])
    assert not any(f.limit == 200 for f in r.findings)


def test_botox_chronic_migraine_above_155_units_is_a_warning_not_a_stop():
    sites = [
        inj("frontalis", 10, 2, "left"), inj("frontalis", 10, 2, "right"),
        inj("corrugator_supercilii", 5, 1, "left"), inj("corrugator_supercilii", 5, 1, "right"),
        {"muscle": "procerus", "side": "midline", "units": 5, "sites": 1},
        inj("occipitalis", 15, 3, "left"), inj("occipitalis", 15, 3, "right"),
        inj("temporalis", 20, 4, "left"), inj("temporalis", 20, 4, "right"),
        inj("trapezius", 35, 7, "left"), inj("trapezius", 35, 7, "right"),
        inj("cervical_paraspinal", 10, 2, "left"), inj("cervical_paraspinal", 10, 2, "right"),
    ]  # 195 U: the 155 U pattern with 40 U more in the trapezius
    r = run("BOTOX", "chronic_migraine", sites)
    assert "SESSION_DOSE_ABOVE_RECOMMENDED_RANGE" in codes(r)
    assert not stops(r)


def test_botox_cosmetic_glabellar_and_lateral_canthal_together_stop_above_44_units():
    gl = hist(DAY, "onabotulinumtoxinA", "glabellar_lines", 20)
    ok = run("BOTOX Cosmetic", "lateral_canthal_lines", [inj("orbicularis_oculi", 24, 6)],
             history=[gl])
    assert not any(f.limit == 44 for f in ok.findings)
    over = run("BOTOX Cosmetic", "lateral_canthal_lines", [inj("orbicularis_oculi", 25, 6)],
               history=[gl])
    assert "SESSION_MAX_EXCEEDED" in stops(over)  # 25 > 24 for lateral canthal lines alone
    assert any(f.code == "CUMULATIVE_MAX_EXCEEDED" and f.limit == 44 for f in over.findings)


def test_botox_axilla_50_units_per_side_is_the_label_dose():
    both = [inj("axilla", 50, 12, "left"), inj("axilla", 50, 12, "right")]
    assert run("BOTOX", "axillary_hyperhidrosis", both).verdict == "ok"
    more = [inj("axilla", 60, 12, "left"), inj("axilla", 50, 12, "right")]
    r = run("BOTOX", "axillary_hyperhidrosis", more)
    f = next(f for f in r.findings if f.code == "MUSCLE_DOSE_ABOVE_RANGE")
    assert (f.side, f.value, f.limit) == ("left", 60, 50)


def test_an_arm_muscle_outside_bontracks_copy_of_the_botox_table_is_not_said_to_be_unlabelled():
    r = run("BOTOX", "upper_limb_spasticity", [inj("pronator_teres", 40, 2)])
    if "MUSCLE_NOT_IN_LABEL_TABLE" in codes(r):  # only once the whole table is held
        assert REF.label_for_age("onabotulinumtoxinA", "upper_limb_spasticity", 50).muscles_complete
    else:
        f = next(f for f in r.findings if f.code == "MUSCLE_NOT_IN_REFERENCE_TABLE")
        assert "bontrack's copy" in f.message and "not in the label" not in f.message


# -- never a silent OK ------------------------------------------------------------------------


@pytest.mark.parametrize("product", ["XEOMIN", "DYSPORT", "BOTOX", "MYOBLOC", "DAXXIFY"])
def test_gentamicin_is_never_a_silent_ok(product):
    """Either the interaction is found, or the result says interactions were not checked."""
    indication = "cervical_dystonia"
    r = run(product, indication, [inj("splenius_capitis", 50, 2)],
            patient={**ADULT, "medications": ["gentamicin"]})
    assert "DRUG_INTERACTION" in codes(r) or "interactions" in r.checks_not_available


def test_every_product_and_indication_of_the_data_names_what_was_not_checked():
    for p in REF.products.values():
        for e in p.labels:
            if not e.labelled:
                continue
            muscle = e.muscles[0].muscle if e.muscles else "frontalis"
            side = "left" if REF.muscles[muscle].paired else "midline"
            age = 40 if e.population != "pediatric" else max(e.ages.min, 8)
            r = run(p.id, e.indication, [inj(muscle, 1, 1, side)],
                    patient={"age_years": age, "weight_kg": 30})
            if r.verdict == "ok" and not r.checks_not_available:
                assert not [f for f in r.findings if f.code == "LIMIT_NOT_AVAILABLE"]


def test_botox_bladder_interval_counts_the_prior_bladder_injection_of_either_kind():
    oab_before = hist("2026-10-01", "onabotulinumtoxinA", "overactive_bladder", 100)
    ndo = [inj("detrusor", 200, 30, "midline")]
    r = run("BOTOX", "neurogenic_detrusor_overactivity", ndo, history=[oab_before])
    f = next(f for f in r.findings if f.code == "RETREATMENT_TOO_SOON")
    assert "overactive bladder" in f.message
    arm_before = hist("2026-11-01", "onabotulinumtoxinA", "upper_limb_spasticity", 100)
    r = run("BOTOX", "neurogenic_detrusor_overactivity", ndo, history=[arm_before])
    assert "RETREATMENT_TOO_SOON" not in codes(r)  # an arm treatment is not a bladder one


@pytest.mark.parametrize("flag", ["urinary_tract_infection", "urinary_retention"])
def test_botox_bladder_contraindications_stop_bladder_injections_only(flag):
    patient = {**ADULT, "conditions": [flag]}
    bladder = run("BOTOX", "overactive_bladder", [inj("detrusor", 100, 20, "midline")],
                  patient=patient)
    assert "CONTRAINDICATED" in stops(bladder)
    arm_plan = run("BOTOX", "upper_limb_spasticity", arm(200), patient=patient)
    assert "CONTRAINDICATED" not in codes(arm_plan)


@pytest.mark.parametrize("flag", ["cow_milk_protein_allergy", "infection_at_injection_site"])
def test_dysport_label_contraindications(flag):
    r = run("DYSPORT", "cervical_dystonia", [inj("splenius_capitis", 100, 2)],
            patient={**ADULT, "conditions": [flag]})
    assert "CONTRAINDICATED" in stops(r)


# -- pass 5 (reference data 2026.12.3): DYSPORT cervical dystonia maximum, adult lower limb ---
# table and interval, all SECONDARY (Drugs.com / Cerner Multum restating the label).


@pytest.mark.parametrize(("units", "stop"), [(1000, False), (1001, True)])
def test_dysport_cervical_dystonia_stops_above_1000_units(units, stop):
    neck = [inj("splenius_capitis", units // 2, 2), inj("trapezius", units - units // 2, 2)]
    r = run("DYSPORT", "cervical_dystonia", neck)
    assert ("SESSION_MAX_EXCEEDED" in stops(r)) is stop
    if stop:
        f = next(f for f in r.findings if f.code == "SESSION_MAX_EXCEEDED")
        assert (f.value, f.limit) == (1001, 1000)


DYSPORT_ADULT_LEG_ROWS = [
    ("gastrocnemius_medial_head", 150, 1),
    ("gastrocnemius_lateral_head", 150, 1),
    ("soleus", 500, 3),
    ("tibialis_posterior", 300, 2),
    ("flexor_digitorum_longus", 200, 2),
    ("flexor_hallucis_longus", 200, 1),
]


@pytest.mark.parametrize(("muscle", "top", "sites"), DYSPORT_ADULT_LEG_ROWS)
def test_dysport_adult_leg_muscle_rows_warn_just_above_their_range(muscle, top, sites):
    at = run("DYSPORT", "lower_limb_spasticity", [inj(muscle, top, sites)])
    assert "MUSCLE_DOSE_ABOVE_RANGE" not in codes(at)
    above = run("DYSPORT", "lower_limb_spasticity", [inj(muscle, top + 1, sites)])
    f = next(f for f in above.findings if f.code == "MUSCLE_DOSE_ABOVE_RANGE")
    assert (f.value, f.limit, f.severity.label) == (top + 1, top, "warning")
    assert "per_muscle" not in above.checks_not_available


def test_a_leg_muscle_outside_bontracks_copy_of_the_dysport_table_is_not_said_to_be_unlabelled():
    r = run("DYSPORT", "lower_limb_spasticity", [inj("tibialis_anterior", 100, 2)])
    assert "MUSCLE_NOT_IN_LABEL_TABLE" not in codes(r)
    assert "MUSCLE_NOT_IN_REFERENCE_TABLE" in codes(r)


@pytest.mark.parametrize(("last", "stop"), [("2026-09-01", False), ("2026-09-02", True)])
def test_dysport_adult_lower_limb_retreatment_no_sooner_than_12_weeks(last, stop):
    before = hist(last, "abobotulinumtoxinA", "lower_limb_spasticity", 1000)
    r = run("DYSPORT", "lower_limb_spasticity", [inj("soleus", 400, 3)], history=[before])
    assert ("RETREATMENT_TOO_SOON" in stops(r)) is stop
    assert "interval" not in r.checks_not_available


CHILD_20KG = {"age_years": 8, "weight_kg": 20}


@pytest.mark.parametrize(("indication", "before", "muscle", "last", "needed"), [
    # DYSPORT, children treated for both upper and lower limb spasticity: "Retreatment ...
    # should not occur in intervals of less than 3 months" (calendar months from the last
    # session: 2026-09-29 -> 2026-12-29 is 91 days; 2026-08-24 is exactly 3 months before)
    ("upper_limb_spasticity", "lower_limb_spasticity", "biceps_brachii", "2026-09-29", 91),
    ("upper_limb_spasticity", "lower_limb_spasticity", "biceps_brachii", "2026-08-25", 92),
    ("upper_limb_spasticity", "lower_limb_spasticity", "biceps_brachii", "2026-08-24", None),
    ("lower_limb_spasticity", "upper_limb_spasticity", "gastrocnemius", "2026-09-29", 91),
    ("lower_limb_spasticity", "upper_limb_spasticity", "gastrocnemius", "2026-08-24", None),
])
def test_dysport_child_treated_for_both_limbs_waits_3_months_between_sessions(
        indication, before, muscle, last, needed):
    r = run("abobotulinumtoxinA", indication, [inj(muscle, 150, 2)], patient=CHILD_20KG,
            history=[hist(last, "abobotulinumtoxinA", before, 150)])
    found = [f for f in r.findings if f.code == "RETREATMENT_TOO_SOON"]
    assert bool(found) is (needed is not None), r.findings
    if needed is not None:
        assert found[0].limit == needed and found[0].unit == "days"
        assert "less than 3 months" in found[0].quote
        assert "RETREATMENT_TOO_SOON" in stops(r)


def test_dysport_child_own_limb_interval_still_counts_after_the_other_limb():
    """The 16 weeks after an upper-limb session stand beside the 3 months after a leg one."""
    r = run("abobotulinumtoxinA", "upper_limb_spasticity", [inj("biceps_brachii", 150, 2)],
            patient=CHILD_20KG,
            history=[hist("2026-08-24", "abobotulinumtoxinA", "lower_limb_spasticity", 150),
                     hist("2026-08-20", "abobotulinumtoxinA", "upper_limb_spasticity", 150)])
    found = [f for f in r.findings if f.code == "RETREATMENT_TOO_SOON"]
    assert [f.limit for f in found] == [112]


@pytest.mark.parametrize(("indication", "patient", "muscle"), [
    ("lower_limb_spasticity", ADULT, "soleus"),
    ("upper_limb_spasticity", {"age_years": 16, "weight_kg": 60}, "biceps_brachii"),
    ("lower_limb_spasticity", {"age_years": 10, "weight_kg": 40}, "gastrocnemius"),
    ("upper_limb_spasticity", ADULT, "biceps_brachii"),
])
def test_botox_50_units_per_site_holds_for_every_spasticity_entry(indication, patient, muscle):
    """BOTOX, "Spasticity, general": "no more than 50 Units per site should generally be
    administered" (it held for adult upper limb only: an outside label probe's finding)."""
    over = run("onabotulinumtoxinA", indication, [inj(muscle, 80, 1)], patient=patient)
    site = [f for f in over.findings if f.code == "SITE_DOSE_ABOVE_MAX"]
    assert site and site[0].limit == 50 and "SITE_DOSE_ABOVE_MAX" in stops(over), over.findings
    at = run("onabotulinumtoxinA", indication, [inj(muscle, 50, 1)], patient=patient)
    assert "SITE_DOSE_ABOVE_MAX" not in codes(at)
    assert "per_site" not in at.checks_not_available
