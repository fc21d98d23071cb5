"""Malformed reference files give a clear error naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bontrack.errors import ReferenceDataError
from bontrack.reference import load_reference
from bontrack.reference.loader import DATA_DIR, YAML_LOADER, _read_yaml
from tests.conftest import build_fixture_dir


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return build_fixture_dir(tmp_path / "ref")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_bundled_reference_loads_and_is_versioned(real_ref):
    assert real_ref.version and real_ref.released
    assert len(real_ref.products) == 5


def test_fixture_reference_loads(data_dir):
    assert set(load_reference(data_dir).products) == {"testotoxinA", "othertoxinB"}


CASES = [
    # (file, old text, new text, field in the error, words in the reason)
    (
        "products/testotoxinA.yaml",
        "session_max_units: {value: 400, source: *s}",
        "session_max_units: {value: 400}",
        "product.labels.0.session_max_units.source",
        "Field required",
    ),
    (
        "products/testotoxinA.yaml",
        "session_max_units: {value: 400, source: *s}",
        "session_max_units: {value: -4, source: *s}",
        "product.labels.0.session_max_units.value",
        "greater than or equal to 0",
    ),
    (
        "products/testotoxinA.yaml",
        "usual_units: {min: 75, max: 400",
        "usual_units: {min: 750, max: 400",
        "product.labels.0.usual_units",
        "above max",
    ),
    (
        "products/testotoxinA.yaml",
        "retreatment_min_interval: {weeks: 12, source: *s}",
        "retreatment_min_interval: {weeks: 12, days: 3, source: *s}",
        "product.labels.0.retreatment_min_interval",
        "exactly one",
    ),
    (
        "products/testotoxinA.yaml",
        "      session_max_units: {value: 400",
        "      session_maxx: 1\n      session_max_units: {value: 400",
        "product.labels.0.session_maxx",
        "Extra inputs",
    ),
    (
        "products/testotoxinA.yaml",
        "{muscle: biceps_brachii, units: {min: 60",
        "{muscle: bicep, units: {min: 60",
        "product.labels.0.muscles.0.muscle",
        "unknown muscle",
    ),
    (
        "products/testotoxinA.yaml",
        "- indication: cervical_dystonia",
        "- indication: neck_pain",
        "product.labels.3.indication",
        "unknown indication",
    ),
    (
        "products/testotoxinA.yaml",
        "source: &s {document: fixture",
        "source: &s {document: nowhere",
        "product.vials.0.source.document",
        "not listed",
    ),
    (
        "products/testotoxinA.yaml",
        "condition: myasthenia_gravis",
        "condition: myasthenia",
        "product.conditions.2.condition",
        "unknown condition",
    ),
    (
        "products/testotoxinA.yaml",
        "ages: {min: 2, max: 17, source: *s}\n      weight_based",
        "ages: {min: 17, max: 20, source: *s}\n      weight_based",
        "product.labels.1.ages",
        "overlap",
    ),
    (
        "products/testotoxinA.yaml",
        "schema_version: 1",
        "schema_version: 2",
        "schema_version",
        "Input should be 1",
    ),
    ("muscles.yaml", "    paired: true", "    paired: sometimes", "muscles.0.paired", "boolean"),
    (
        "indications.yaml",
        'code: "G81.10"',
        'code: "G8110X"',
        "indications.0.icd10cm.0.code",
        "pattern",
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "field", "reason"), CASES, ids=[c[3] for c in CASES]
)
def test_malformed_reference_file_names_file_and_field(data_dir, name, old, new, field, reason):
    edit(data_dir / name, old, new)
    with pytest.raises(ReferenceDataError) as err:
        load_reference(data_dir)
    assert err.value.where.endswith(name)
    assert err.value.field == field
    assert reason in err.value.reason


def test_invalid_yaml_gives_the_line(data_dir):
    (data_dir / "safety.yaml").write_text("conditions: [unclosed\n")
    with pytest.raises(ReferenceDataError, match=r"line \d+: not valid YAML"):
        load_reference(data_dir)


def test_missing_file_is_named(data_dir):
    (data_dir / "muscles.yaml").unlink()
    with pytest.raises(ReferenceDataError, match=r"muscles\.yaml: file not found"):
        load_reference(data_dir)


def test_no_products_is_an_error(data_dir):
    for p in (data_dir / "products").glob("*.yaml"):
        p.unlink()
    with pytest.raises(ReferenceDataError, match="no product files"):
        load_reference(data_dir)


def test_a_document_defined_twice_differently_is_an_error(data_dir):
    edit(
        data_dir / "products/othertoxinB.yaml",
        'title: "Synthetic test label"',
        'title: "Another title"',
    )
    with pytest.raises(ReferenceDataError, match=r"documents\.fixture"):
        load_reference(data_dir)


def _yaml_files() -> list[Path]:
    return sorted(DATA_DIR.rglob("*.yaml"))


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: p.name)
def test_the_fast_yaml_loader_reads_every_data_file_as_the_pure_one_does(path):
    """The loader reads with libyaml where it can; the documents it gives must be the ones
    PyYAML's own safe loader gives, value for value and type for type (a date stays a date,
    ``1.0`` a float, ``"01"`` a string)."""
    text = path.read_text(encoding="utf-8")

    def typed(x: object) -> object:
        if isinstance(x, dict):
            return {typed(k): typed(v) for k, v in x.items()}
        if isinstance(x, list):
            return [typed(v) for v in x]
        return (type(x).__name__, x)

    assert typed(yaml.load(text, Loader=YAML_LOADER)) == typed(yaml.safe_load(text))


def test_the_fast_yaml_loader_is_used_where_pyyaml_has_it():
    assert YAML_LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize("text", ["a: [1, 2\n", "a: b: c\n", "- a\nb: 1\n", "a: 'x\n"])
def test_both_loaders_refuse_the_same_broken_yaml_with_a_line(tmp_path, text):
    """What the pure loader refuses the fast one refuses too, and the error names a line."""
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"line \d+: not valid YAML"):
        _read_yaml(path)
