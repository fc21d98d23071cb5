"""red_flags.yaml is validated by the loader: a malformed file names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bontrack.errors import ReferenceDataError
from bontrack.reference import load_reference
from tests.conftest import build_fixture_dir


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


CASES = [
    ("  - id: breathing\n", "  - id: swallowing\n", "red_flags", "listed twice"),
    ("    phrases: [dysphagia,", "    phrasez: [dysphagia,", "red_flags.0.phrases",
     "Field required"),
    ("document: bont_boxed_warning, section:", "document: no_such_label, section:",
     "red_flags.0.source.document", "no_such_label"),
    ("  negation_scope_words: 3", "  negation_scope_words: 0", "matching.negation_scope_words",
     "greater than or equal to 1"),
    ("  urgent: >-", "  urgentt: >-", "advice", "urgent"),
    ("  - id: swallowing\n", "  - id: Swallowing!\n", "red_flags.0.id", "pattern"),
]


@pytest.mark.parametrize(("old", "new", "field", "words"), CASES,
                         ids=["duplicate-id", "unknown-key", "unknown-document", "scope-0",
                              "advice-missing", "bad-id"])
def test_malformed_red_flag_file_names_file_and_field(tmp_path, old, new, field, words):
    base = build_fixture_dir(tmp_path / "ref")
    edit(base / "red_flags.yaml", old, new)
    with pytest.raises(ReferenceDataError) as err:
        load_reference(base)
    assert "red_flags.yaml" in str(err.value) and field in str(err.value), str(err.value)
    assert words in str(err.value), str(err.value)


def test_a_missing_red_flag_file_is_an_error(tmp_path):
    base = build_fixture_dir(tmp_path / "ref")
    (base / "red_flags.yaml").unlink()
    with pytest.raises(ReferenceDataError, match=r"red_flags\.yaml.*file not found"):
        load_reference(base)


def test_the_bundled_red_flags_load_with_their_triage_settings(real_ref):
    ids = [f.id for f in real_ref.red_flags]
    assert ids == ["swallowing", "breathing", "speech", "vision", "drooping_eyelids",
                   "generalised_weakness", "bladder_control", "allergic_reaction"]
    assert real_ref.triage.red_flags == list(real_ref.red_flags)
    assert "{symptoms}" in real_ref.triage.advice.urgent
