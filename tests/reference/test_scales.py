"""Outcome scales as data (reference/data/scales.yaml): validated at load, and a new scale is
one data edit that flows to value checking, the patient's words and the FHIR coding."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from bontrack.clinical.display import scale_text
from bontrack.clinical.response import responder_rules
from bontrack.clinical.scales import ScaleError, read_value
from bontrack.errors import ReferenceDataError
from bontrack.fhir.codes import CS_OUTCOME, SNOMED
from bontrack.fhir.kinds.observation import _scale_concepts
from bontrack.fhir.mapping import Context
from bontrack.reference import default_reference, load_reference
from bontrack.reference.loader import DATA_DIR
from bontrack.reference.schema import OUTCOME_SCALE_SYSTEM

DOCS = Path(__file__).parents[2] / "docs"


def copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit_scales(base: Path, change: Any) -> None:
    path = base / "scales.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["scales"])
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_the_bundled_scales_load_with_every_scale_of_the_code():
    scales = default_reference().scales
    assert list(scales) == ["modified_ashworth", "tardieu_x", "rom_degrees", "spasm_frequency",
                            "spasm_intensity", "twstrs_total", "headache_days", "hdss", "gas",
                            "pgic", "pain_nrs"]
    mas = scales["modified_ashworth"]
    assert [lbl for lbl, _ in mas.labels] == ["0", "1", "1+", "2", "3", "4"]
    assert dict(mas.labels)["1+"] == Decimal("1.5")
    assert scale_text(scales, "modified_ashworth", Decimal("1.5")) == "1+"


def test_the_fhir_outcome_system_is_the_one_the_reference_checks():
    assert CS_OUTCOME == OUTCOME_SCALE_SYSTEM


def test_every_responder_rule_cites_its_source_and_conventions_say_so():
    rules = responder_rules(default_reference().scales)
    assert set(rules) == {"modified_ashworth", "headache_days", "hdss", "pain_nrs",
                          "twstrs_total"}
    assert rules["twstrs_total"].convention
    assert rules["twstrs_total"].source.startswith("Clinic convention")
    assert "Tassorelli" in rules["headache_days"].source
    assert rules["modified_ashworth"].describe() == \
        "Modified Ashworth Scale down by at least 1 step(s)"


def test_a_scale_without_a_cited_definition_is_listed_in_the_gaps():
    gaps = (DOCS / "reference-gaps.md").read_text(encoding="utf-8")
    for s in default_reference().scales.values():
        if s.definition is None:
            assert f"| {s.id} |" in gaps, s.id


@pytest.mark.parametrize(("field", "change"), [
    ("plain_name", lambda s: s[0].pop("plain_name")),
    ("plain_sentence", lambda s: s[1].pop("plain_sentence")),
    ("fhir", lambda s: s[2].pop("fhir")),
    ("fhir.codings", lambda s: s[3]["fhir"].update(codings=[])),
    ("fhir", lambda s: s[4]["fhir"].update(codings=[
        {"system": "http://snomed.info/sct", "code": "1", "display": "x"}])),
    ("responder.citation", lambda s: s[0]["responder"].pop("citation")),
    ("responder", lambda s: s[6]["responder"].update(direction="up")),
    ("values", lambda s: s[1].update(values={"range": {"min": 5, "max": 0, "step": 1}})),
    ("values", lambda s: s[0]["values"]["grades"].reverse()),
])
def test_a_scale_missing_a_name_coding_or_citation_fails_at_load_naming_file_and_field(
        tmp_path: Path, field: str, change: Any) -> None:
    base = copy_data(tmp_path)
    edit_scales(base, change)
    with pytest.raises(ReferenceDataError) as err:
        load_reference(base)
    assert err.value.where.endswith("scales.yaml")
    assert field in err.value.field, (err.value.field, str(err.value))


def test_a_missing_scales_file_fails_at_load(tmp_path: Path) -> None:
    base = copy_data(tmp_path)
    (base / "scales.yaml").unlink()
    with pytest.raises(ReferenceDataError, match=r"scales\.yaml"):
        load_reference(base)


def test_adding_a_scale_is_one_data_edit(tmp_path: Path) -> None:
    """A new scale in a copy of the data folder: its values are checked, its plain name and
    responder rule are read, and the FHIR export codes it -- no code touched."""
    base = copy_data(tmp_path)
    new = {
        "id": "fatigue_vas", "name": "Fatigue visual analogue scale",
        "plain_name": "Tiredness (0 = none, 100 = worst)", "plain_sentence": "tiredness",
        "definition": "test scale (not clinical data)",
        "values": {"range": {"min": 0, "max": 100, "step": 5}}, "better": "lower",
        "unit": {"code": "mm", "display": "mm"},
        "responder": {"kind": "points", "threshold": 20, "direction": "down",
                      "citation": "Test citation only, for the data-edit test of scales.yaml"},
        "fhir": {"category": "survey", "codings": [
            {"system": OUTCOME_SCALE_SYSTEM, "code": "fatigue_vas",
             "display": "Fatigue visual analogue scale"},
            {"system": SNOMED, "code": "999999999", "display": "test code"}]},
    }
    edit_scales(base, lambda s: s.append(new))
    ref = load_reference(base)
    assert read_value(ref.scales, "fatigue_vas", "35") == (Decimal(35), "35")
    with pytest.raises(ScaleError, match="runs from 0 to 100"):
        read_value(ref.scales, "fatigue_vas", "101")
    with pytest.raises(ScaleError, match="steps of 5"):
        read_value(ref.scales, "fatigue_vas", "12")
    assert ref.scales["fatigue_vas"].plain_name == "Tiredness (0 = none, 100 = worst)"
    assert responder_rules(ref.scales)["fatigue_vas"].describe() == \
        "Fatigue visual analogue scale down by at least 20 point(s)"
    category, code = _scale_concepts(ref, "fatigue_vas")
    assert category[0]["coding"][0]["code"] == "survey"
    assert code["coding"] == [
        {"system": CS_OUTCOME, "code": "fatigue_vas", "display": "Fatigue visual analogue scale"},
        {"system": SNOMED, "code": "999999999", "display": "test code"}]
    assert code["text"] == "Fatigue visual analogue scale"
    assert ref.scale_by_coding(SNOMED, "999999999") == "fatigue_vas"
    assert Context(ref).ref.scales["fatigue_vas"].unit.code == "mm"
    # the bundled reference does not know it
    with pytest.raises(ScaleError, match="unknown scale"):
        read_value(default_reference().scales, "fatigue_vas", "35")
