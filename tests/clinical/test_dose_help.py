"""Dose help for one muscle (clinical.dose_help): every row of every label entry in the
reference data is read back as the help shows it; a child's range per kg is the units at
the weight with the label's maximum; a muscle without a range is said to be not checked;
history and the clinic median never mix products."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bontrack.clinical.dose_help import (
    MIN_CLINIC_PATIENTS,
    MIN_CLINIC_RECORDS,
    NOT_CHECKED,
    NOT_HELD,
    ClinicDose,
    PastDose,
    ResponseSeen,
    clinic_median,
    dose_help,
    dose_help_doc,
)
from bontrack.clinical.units import format_amount
from bontrack.errors import PlanError
from bontrack.reference import default_reference

REF = default_reference()
WEIGHT = Decimal(24)


def _rows() -> list[tuple[str, str, int, str]]:
    """(product, indication, an age inside the entry, muscle) of every dosing-table row."""
    out = []
    for p in REF.products.values():
        for e in p.labels:
            if not e.labelled:
                continue
            for row in e.muscles:
                out.append((p.id, e.indication, e.ages.min, row.muscle))
    return out


ROWS = _rows()


def _help(product: str, indication: str, age: int, muscle: str,
          weight: Decimal | None = WEIGHT, history=(), clinic=()):  # type: ignore[no-untyped-def]
    return dose_help(REF, product=product, indication=indication, muscle=muscle, side=None,
                     age_years=age, weight_kg=weight, history=history, clinic=clinic)


def test_the_reference_data_has_label_rows_to_check():
    assert len(ROWS) >= 20


@pytest.mark.parametrize(("product", "indication", "age", "muscle"), ROWS,
                         ids=[f"{p}-{i}-{a}-{m}" for p, i, a, m in ROWS])
def test_each_label_row_is_shown_with_its_own_range_sites_and_source(product, indication,
                                                                     age, muscle):
    lab = REF.label_for_age(product, indication, age)
    assert lab is not None
    row = REF.muscle_rows(lab)[muscle]
    label = _help(product, indication, age, muscle).label
    if row.units is not None:
        assert label.range_text is not None and label.range_text.endswith(" U")
        assert (label.units_min, label.units_max) == (row.units.min, row.units.max)
        src = row.units.source
    elif row.units_per_kg is not None:
        r = row.units_per_kg
        assert label.per_kg and label.range_text is not None and " U/kg (" in label.range_text
        assert label.units_min == (None if r.min is None else r.min * WEIGHT)
        assert label.units_max == (None if r.max is None else r.max * WEIGHT)
        assert f"at {format_amount(WEIGHT)} kg" in label.range_text
        src = r.source
    else:  # sites only: said to be not checked, never silent
        assert label.range_text is None and label.reason and NOT_CHECKED in label.reason
        src = row.source
    if row.sites is not None:
        assert label.sites_text is not None and label.sites_text.endswith(("site", "sites"))
    assert label.citation == REF.citation(src.document, src.section)
    assert label.quote == src.quote
    assert label.population == lab.population


def test_a_childs_biceps_range_per_kg_is_the_units_at_the_weight_with_the_session_maximum():
    h = _help("onabotulinumtoxinA", "upper_limb_spasticity", 8, "biceps_brachii", Decimal(24))
    lab = h.label
    # the label row: "Biceps brachii 1.5 Units/kg - 3 Units/kg divided in 4 sites"
    assert lab.range_text == "1.5-3 U/kg (36-72 U at 24 kg)"
    assert (lab.units_min, lab.units_max) == (Decimal("36.0"), Decimal(72))
    assert lab.sites_text == "4 sites"
    # "should not exceed 6 Units/kg or 200 Units, whichever is lower": 144 U at 24 kg
    assert lab.maxima == ("session maximum 6 U/kg or 200 U, whichever is lower: 144 U at "
                          "24 kg",)
    assert h.product_name == "BOTOX (onabotulinumtoxinA)"
    assert dose_help_doc(h)["label"]["checked"] is True


def test_a_heavy_childs_upper_end_above_the_200_unit_cap_says_the_maximum_applies():
    lab = _help("onabotulinumtoxinA", "upper_limb_spasticity", 17, "biceps_brachii",
                Decimal(80)).label
    assert lab.range_text == "1.5-3 U/kg (120-240 U at 80 kg)"
    assert lab.maxima[0].endswith("200 U at 80 kg")
    assert any("above the label's session maximum (200 U): the maximum applies" in n
               for n in lab.notes)


def test_a_childs_range_per_kg_without_a_weight_asks_for_the_weight():
    h = _help("onabotulinumtoxinA", "upper_limb_spasticity", 8, "biceps_brachii", None)
    assert h.label.range_text == "1.5-3 U/kg (give the weight for the units)"
    assert h.label.units_min is None
    assert any("give the weight" in n for n in h.notes)


def test_a_muscle_the_complete_label_table_has_no_row_for_is_said_to_be_not_checked():
    lab_entry = REF.label_for_age("incobotulinumtoxinA", "upper_limb_spasticity", 50)
    assert lab_entry is not None and lab_entry.muscles_complete
    rows = REF.muscle_rows(lab_entry)
    muscle = next(m for m in sorted(REF.muscles) if m not in rows)
    h = _help("incobotulinumtoxinA", "upper_limb_spasticity", 50, muscle)
    assert h.label.range_text is None and h.label.citation is None
    assert h.label.reason is not None and h.label.reason.endswith(NOT_CHECKED)
    assert dose_help_doc(h)["label"]["checked"] is False


def test_an_incomplete_copy_of_the_table_never_says_not_in_the_label():
    h = _help("onabotulinumtoxinA", "upper_limb_spasticity", 50, "pronator_teres")
    assert h.label.range_text is None
    assert h.label.reason is not None and h.label.reason.endswith(NOT_HELD)
    assert "incomplete" in h.label.reason
    assert h.label.maxima == ("session maximum 400 U",)


def test_no_label_entry_for_the_age_and_a_use_not_established_are_not_checked():
    none = _help("onabotulinumtoxinA", "chronic_migraine", 10, "frontalis").label
    assert none.population is None and none.reason and none.reason.endswith(NOT_HELD)
    not_est = _help("abobotulinumtoxinA", "upper_limb_spasticity", 1, "biceps_brachii").label
    assert not_est.reason and "not established at age 1" in not_est.reason
    assert not_est.reason.endswith(NOT_CHECKED)


@pytest.mark.parametrize(("field", "over"), [
    ("product", {"product": "botox"}), ("indication", {"indication": "gout"}),
    ("muscle", {"muscle": "heart"}), ("side", {"side": "both"}),
    ("age", {"age_years": 131}), ("weight_kg", {"weight_kg": Decimal(0)}),
])
def test_bad_input_is_refused_naming_the_field(field, over):
    args = {"product": "onabotulinumtoxinA", "indication": "upper_limb_spasticity",
            "muscle": "biceps_brachii", "side": "left", "age_years": 50,
            "weight_kg": Decimal(70), "history": (), "clinic": (), **over}
    with pytest.raises(PlanError) as e:
        dose_help(REF, **args)
    assert e.value.field == field


MAS = "Modified Ashworth Scale"


def _seen(muscle: str | None, best: Decimal | None, responder: bool | None = True
          ) -> ResponseSeen:
    return ResponseSeen(MAS, muscle, "left" if muscle else None, Decimal(3), best, responder,
                        84 if best is not None else None,
                        "measured" if best is not None else "unknown",
                        "" if best is not None else "nothing measured after the injection")


def test_history_is_per_product_newest_first_with_the_response_in_this_muscle():
    history = [
        PastDose(date(2026, 1, 5), "onabotulinumtoxinA", "upper_limb_spasticity", "left",
                 Decimal(60), 2, (_seen("biceps_brachii", Decimal(2)),
                                  _seen("brachioradialis", Decimal(0)))),
        PastDose(date(2026, 6, 1), "onabotulinumtoxinA", "upper_limb_spasticity", "right",
                 Decimal(80), 3, ()),
        PastDose(date(2026, 9, 1), "abobotulinumtoxinA", "upper_limb_spasticity", "left",
                 Decimal(300), 2, (_seen(None, None, None),)),
    ]
    h = dose_help(REF, product="onabotulinumtoxinA", indication="upper_limb_spasticity",
                  muscle="biceps_brachii", side="left", age_years=50, weight_kg=None,
                  history=history, clinic=())
    assert [(d.day, d.units, d.this_side) for d in h.history] == [
        (date(2026, 6, 1), Decimal(80), False), (date(2026, 1, 5), Decimal(60), True)]
    assert h.history[0].response == "no response measured"
    # the response in this muscle, never the brachioradialis series
    assert h.history[1].response == (f"{MAS} (Biceps brachii, left): 3 \u2192 2, responder, "
                                     "benefit 84 days")
    # the other product apart, labelled, its units as given (never converted)
    assert [(d.product_name, d.units) for d in h.other_products] == [
        ("DYSPORT (abobotulinumtoxinA)", Decimal(300))]
    assert h.other_products[0].response.startswith(f"{MAS}: unknown (nothing measured")
    assert any("never converted" in n for n in h.notes)


def test_the_clinic_median_needs_enough_records_and_patients_and_one_product():
    def doses(n: int, patients: int, product: str = "onabotulinumtoxinA") -> list[ClinicDose]:
        return [ClinicDose(i % patients, product, Decimal(10 * (i + 1))) for i in range(n)]

    few = clinic_median("onabotulinumtoxinA", doses(MIN_CLINIC_RECORDS - 1, 4))
    assert few.median_units is None and few.text.startswith(
        f"fewer than {MIN_CLINIC_RECORDS} records")
    one_patient = clinic_median("onabotulinumtoxinA", doses(9, MIN_CLINIC_PATIENTS - 1))
    assert one_patient.median_units is None
    enough = clinic_median("onabotulinumtoxinA", doses(5, 3))
    assert enough.median_units == Decimal(30) and enough.records == 5
    assert enough.text == "30 U (median of 5 records, 3 patients)"
    mixed = clinic_median("onabotulinumtoxinA",
                          doses(5, 3) + doses(5, 3, "abobotulinumtoxinA") * 3)
    assert mixed.median_units == Decimal(30) and mixed.records == 5
