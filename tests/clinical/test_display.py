"""How numbers are shown: units per site to 0.1 U, Modified Ashworth grades as written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bontrack.clinical.context import u
from bontrack.clinical.display import change_text, scale_text, units_text
from bontrack.reference import default_reference

SCALES = default_reference().scales


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal(50) / 3, "16.7"), (Decimal(100) / 3, "33.3"), (Decimal(100), "100"),
    (12.5, "12.5"), (Decimal("16.65"), "16.7"), (Decimal("0.04"), "0"), (None, ""),
    (16.6667, "16.7"), (Decimal(25) / 4, "6.3"),
])
def test_units_are_shown_to_a_tenth_of_a_unit(value, shown):
    assert units_text(value) == shown


def test_label_numbers_in_messages_stay_as_written_and_computed_ones_are_rounded():
    assert u(Decimal("1.25")) == "1.25 U"  # BOTOX strabismus range, as the label writes it
    assert u(Decimal(400)) == "400 U"
    assert u(Decimal(50) / 3) == "16.7 U"


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("1.5"), "1+"), (1.5, "1+"), ("1.5", "1+"), (Decimal(3), "3"), (0, "0"),
    (Decimal("4.0"), "4"),
])
def test_modified_ashworth_grades_are_shown_as_the_scale_writes_them(value, shown):
    assert scale_text(SCALES, "modified_ashworth", value) == shown


def test_other_scales_show_their_numbers_and_graded_changes_are_in_steps():
    assert scale_text(SCALES, "rom_degrees", Decimal("1.5")) == "1.5"
    assert scale_text(SCALES, "twstrs_total", Decimal("32.0")) == "32"
    assert change_text(SCALES, "modified_ashworth", 1.5, 2) == "2 steps"
    assert change_text(SCALES, "modified_ashworth", 0.5, 1) == "1 step"
    assert change_text(SCALES, "twstrs_total", 12, 12) == "12"
