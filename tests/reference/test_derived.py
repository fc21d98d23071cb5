"""Reference.derived: what the clinical rules derive from one reference value, built once."""

from __future__ import annotations

from dataclasses import replace

from bontrack.reference import default_reference
from bontrack.reference.catalogue import Reference


def fresh() -> Reference:
    """The bundled reference with nothing derived yet."""
    return replace(default_reference(), _derived={})


def test_a_derived_value_is_built_once_per_value_and_kept_with_it() -> None:
    ref = fresh()
    calls: list[object] = []

    def build(r: Reference, of: object) -> tuple[object, int]:
        assert r is ref
        calls.append(of)
        return (of, len(calls))

    first, second = list(ref.products.values())[:2]
    a = ref.derived("test-derived", first, build)
    assert ref.derived("test-derived", first, build) is a  # kept: built once
    b = ref.derived("test-derived", second, build)
    assert a[0] is first and b[0] is second and calls == [first, second]
    assert ref.derived("test-derived-other", first, build)[1] == 3  # per kind


def test_an_equal_but_different_value_is_not_given_another_values_answer() -> None:
    ref = fresh()
    entry = next(e for p in ref.products.values() for e in p.labels)
    copy = entry.model_copy()
    assert copy == entry and copy is not entry
    first = ref.derived("test-identity", entry, lambda r, of: of)
    assert first is entry
    assert ref.derived("test-identity", copy, lambda r, of: of) is copy
