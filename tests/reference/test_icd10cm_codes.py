"""Every ICD-10-CM code in indications.yaml is a valid code whose official description is the
one recorded (CDC tabular list as bundled by the simple-icd-10-cm package)."""

from __future__ import annotations

import pytest

icd = pytest.importorskip("simple_icd_10_cm")


def test_every_indication_code_is_valid_with_its_official_description(real_ref):
    checked = 0
    for ind in real_ref.indications.values():
        for c in ind.icd10cm:
            assert icd.is_valid_item(c.code), f"{ind.id}: {c.code}"
            assert icd.get_description(c.code).lower() == c.display.lower(), (ind.id, c.code)
            checked += 1
    assert checked > 20


def test_the_bladder_indications_are_coded(real_ref):
    assert {c.code for c in real_ref.indications["overactive_bladder"].icd10cm} >= {"N32.81"}
    assert "N31.9" in {
        c.code for c in real_ref.indications["neurogenic_detrusor_overactivity"].icd10cm
    }
