"""Plans and bodies are read as typed: YAML 1.2 numbers, and a key given twice is an error."""

from __future__ import annotations

from datetime import date

import pytest

from bontrack.documents import DocumentError, loads_json, loads_yaml

AS_TYPED = [
    ("units: 060", {"units": 60}),          # YAML 1.1 reads octal 48
    ("units: 0060", {"units": 60}),
    ("units: 1:30", {"units": "1:30"}),     # YAML 1.1 reads sexagesimal 90
    ("side: no", {"side": "no"}),           # YAML 1.1 reads false
    ("consent: yes", {"consent": "yes"}),
    ("units: 12.5", {"units": 12.5}),
    ("units: 1e2", {"units": 100.0}),
    ("date: 2026-11-24", {"date": date(2026, 11, 24)}),
    ("at: 2026-11-24T08:30", {"at": "2026-11-24T08:30"}),
]


@pytest.mark.parametrize(("text", "value"), AS_TYPED, ids=[t for t, _ in AS_TYPED])
def test_yaml_is_read_with_1_2_semantics(text, value):
    assert loads_yaml(text) == value


@pytest.mark.parametrize("text", [
    "units: 400\nunits: 40\n",
    "injections:\n  - {muscle: soleus, units: 100, units: 10}\n",
    "patient:\n  weight_kg: 80\n  birth_date: 1970-01-01\n  weight_kg: 8\n",
])
def test_a_yaml_key_given_twice_is_an_error_naming_the_key(text):
    with pytest.raises(DocumentError) as err:
        loads_yaml(text)
    assert err.value.key in ("units", "weight_kg")
    assert "given twice" in str(err.value) and "line" in str(err.value)


@pytest.mark.parametrize("text", [
    '{"product": "Botox", "product": "Myobloc"}',
    '{"injections": [{"units": 400, "units": 40}]}',
])
def test_a_json_key_given_twice_is_an_error_naming_the_key(text):
    with pytest.raises(DocumentError) as err:
        loads_json(text)
    assert err.value.key in ("product", "units")


def test_equal_keys_in_different_mappings_are_fine():
    assert loads_json('[{"units": 1}, {"units": 2}]') == [{"units": 1}, {"units": 2}]
    assert loads_yaml("a: {units: 1}\nb: {units: 2}\n") == {"a": {"units": 1}, "b": {"units": 2}}


@pytest.mark.parametrize("text", ['{"units": NaN}', '{"units": Infinity}', "[1,", "{"])
def test_malformed_json_is_a_document_error(text):
    with pytest.raises(DocumentError):
        loads_json(text)


@pytest.mark.parametrize("text", ["a: [1,\n", "a: b: c\n", "- a\nb: 1\n"])
def test_malformed_yaml_is_a_document_error_with_a_position(text):
    with pytest.raises(DocumentError) as err:
        loads_yaml(text)
    assert "not valid YAML" in str(err.value)
