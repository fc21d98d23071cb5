"""Invariants of the plan check, over generated plans (hypothesis)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bontrack.clinical.check import check_plan
from bontrack.clinical.findings import Severity
from bontrack.clinical.plan import read_plan
from bontrack.errors import PlanError
from bontrack.reference import Reference
from tests.conftest import build_fixture_dir

_REF: Reference | None = None


def ref() -> Reference:
    global _REF
    if _REF is None:
        import tempfile
        from pathlib import Path

        from bontrack.reference import load_reference

        _REF = load_reference(build_fixture_dir(Path(tempfile.mkdtemp()) / "ref"))
    return _REF


MUSCLES = [
    "biceps_brachii",
    "flexor_carpi_radialis",
    "brachialis",
    "pronator_teres",
    "soleus",
    "sternocleidomastoid",
]
units = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(600), places=1)
injection = st.builds(
    lambda m, side, u, s: {"muscle": m, "side": side, "units": str(u), "sites": s},
    st.sampled_from(MUSCLES),
    st.sampled_from(["left", "right"]),
    units,
    st.integers(min_value=1, max_value=6),
)
history_item = st.builds(
    lambda d, p, i, u: {
        "date": f"2026-{d[0]:02d}-{d[1]:02d}",
        "product": p,
        "indication": i,
        "total_units": str(u),
    },
    st.tuples(st.integers(1, 11), st.integers(1, 28)),
    st.sampled_from(["testotoxinA", "othertoxinB"]),
    st.sampled_from(["upper_limb_spasticity", "cervical_dystonia", "lower_limb_spasticity"]),
    units,
)
patient = st.one_of(
    st.just({"birth_date": "1970-03-02", "weight_kg": 70}),
    st.builds(
        lambda w: {"birth_date": "2016-05-01", "weight_kg": w},
        st.integers(min_value=8, max_value=60),
    ),
)
plans = st.builds(
    lambda p, inj, hist, ind: {
        "date": "2026-11-24",
        "patient": p,
        "product": "testotoxinA",
        "indication": ind,
        "injections": inj,
        "history": hist,
    },
    patient,
    st.lists(injection, min_size=1, max_size=10),
    st.lists(history_item, max_size=4),
    st.sampled_from(["upper_limb_spasticity", "lower_limb_spasticity", "cervical_dystonia"]),
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def stops(doc: dict[str, Any]) -> set[str]:
    r = check_plan(read_plan(doc, ref()), ref())
    return {f.code for f in r.findings if f.severity == Severity.STOP}


@FAST
@given(plans, st.data())
def test_raising_any_dose_never_turns_a_stop_into_ok(doc, data):
    before = stops(doc)
    i = data.draw(st.integers(0, len(doc["injections"]) - 1))
    extra = data.draw(st.decimals(min_value=Decimal("0.1"), max_value=Decimal(300), places=1))
    raised = json.loads(json.dumps(doc))
    raised["injections"][i]["units"] = str(Decimal(raised["injections"][i]["units"]) + extra)
    assert before <= stops(raised)


@FAST
@given(plans, st.randoms())
def test_reordering_injections_never_changes_the_verdict_or_findings(doc, rnd):
    r1 = check_plan(read_plan(doc, ref()), ref())
    shuffled = json.loads(json.dumps(doc))
    rnd.shuffle(shuffled["injections"])
    rnd.shuffle(shuffled["history"])
    r2 = check_plan(read_plan(shuffled, ref()), ref())
    assert r1.verdict == r2.verdict
    assert sorted((f.code, f.muscle, f.side, f.value) for f in r1.findings) == sorted(
        (f.code, f.muscle, f.side, f.value) for f in r2.findings
    )


@FAST
@given(plans, st.data())
def test_splitting_a_muscle_dose_over_more_sites_never_changes_totals(doc, data):
    r1 = check_plan(read_plan(doc, ref()), ref())
    i = data.draw(st.integers(0, len(doc["injections"]) - 1))
    split = json.loads(json.dumps(doc))
    one = split["injections"][i]
    half = Decimal(one["units"]) / 2
    one["units"] = str(half)
    split["injections"].append({**one, "units": str(Decimal(doc["injections"][i]["units"]) - half)})
    r2 = check_plan(read_plan(split, ref()), ref())
    assert r1.total_units == r2.total_units
    assert r1.preparation.total_units == r2.preparation.total_units
    totals = {
        "SESSION_MAX_EXCEEDED",
        "WEIGHT_BASED_MAX_EXCEEDED",
        "CUMULATIVE_MAX_EXCEEDED",
        "MUSCLE_DOSE_ABOVE_RANGE",
        "DYSPHAGIA_RISK",
        "RETREATMENT_TOO_SOON",
    }
    assert {f.code for f in r1.findings} & totals == {f.code for f in r2.findings} & totals


@FAST
@given(plans, history_item)
def test_adding_history_never_removes_a_stop(doc, item):
    more = json.loads(json.dumps(doc))
    more["history"].append(item)
    assert stops(doc) <= stops(more)


@FAST
@given(plans)
def test_other_products_in_history_never_count_toward_cumulative_units(doc):
    only_mine = json.loads(json.dumps(doc))
    only_mine["history"] = [h for h in doc["history"] if h["product"] == "testotoxinA"]
    cum = [
        f
        for f in check_plan(read_plan(doc, ref()), ref()).findings
        if f.code == "CUMULATIVE_MAX_EXCEEDED"
    ]
    cum_mine = [
        f
        for f in check_plan(read_plan(only_mine, ref()), ref()).findings
        if f.code == "CUMULATIVE_MAX_EXCEEDED"
    ]
    assert [(f.value, f.limit) for f in cum] == [(f.value, f.limit) for f in cum_mine]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


def mutate(doc: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(doc))
    target: Any = out
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return out


PATHS: list[list[str | int]] = [
    ["date"],
    ["patient"],
    ["patient", "birth_date"],
    ["patient", "weight_kg"],
    ["patient", "conditions"],
    ["patient", "medications"],
    ["product"],
    ["indication"],
    ["injections"],
    ["injections", 0],
    ["injections", 0, "muscle"],
    ["injections", 0, "side"],
    ["injections", 0, "units"],
    ["injections", 0, "sites"],
    ["history"],
    ["vials"],
]


@settings(max_examples=400, deadline=None)
@given(plans, st.sampled_from(PATHS), json_values)
def test_any_malformed_field_gives_a_plan_error_or_a_result_never_a_crash(doc, path, value):
    bad = mutate(doc, path, value)
    try:
        result = check_plan(read_plan(bad, ref()), ref())
    except PlanError as err:
        assert err.field and err.reason
    else:
        assert result.verdict in ("ok", "warning", "stop")
