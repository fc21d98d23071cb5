"""The plan check gives today's results, to the byte, on 1,200 generated plans (issue 16).

The fixture (``plan_generator.py``) was frozen from the checker before the fast path: every
later change of the reader, the rules or the result document must reproduce each plan's
result document, or each broken plan's error message, exactly. Compared as ``json.dumps``
writes them, so an int turned float (``300`` and ``300.0``) or a reordered key fails too.
"""

from __future__ import annotations

import json
import lzma
from typing import Any

import orjson
import pytest

from bontrack.clinical.check import check_plan
from bontrack.clinical.plan import read_plan
from bontrack.clinical.result import result_dict, result_json
from bontrack.documents import loads_json_fast
from bontrack.errors import PlanError
from bontrack.reference import default_reference
from tests.clinical.plan_generator import FIXTURE, plans

REF = default_reference()


def cases() -> list[dict[str, Any]]:
    with lzma.open(FIXTURE, "rt", encoding="utf-8") as f:
        loaded: list[dict[str, Any]] = json.load(f)
    return loaded


CASES = cases()


def test_the_fixture_holds_over_a_thousand_plans_of_every_kind():
    assert len(CASES) >= 1000
    refused = [c for c in CASES if "error" in c]
    assert 50 <= len(refused) < len(CASES) // 5
    verdicts = {c["result"]["verdict"] for c in CASES if "result" in c}
    assert verdicts == {"ok", "warning", "stop"}
    codes = {f["code"] for c in CASES if "result" in c for f in c["result"]["findings"]}
    assert len(codes) >= 25


def test_the_generator_is_deterministic_and_the_fixture_is_its_output():
    assert [c["plan"] for c in CASES] == plans()


def _expected(case: dict[str, Any]) -> str:
    return json.dumps(case["result"])


@pytest.mark.parametrize("chunk", range(4))
def test_bytes_to_result_to_json_bytes_gives_todays_results(chunk: int):
    """The fast path: plan bytes decoded and read, checked, and the result as JSON bytes."""
    mismatches = []
    for n, case in enumerate(CASES[chunk::4]):
        raw = json.dumps(case["plan"]).encode()
        try:
            out = result_json(check_plan(read_plan(loads_json_fast(raw), REF), REF), REF)
        except PlanError as e:
            if e.message != case.get("error"):
                mismatches.append((n, case.get("error"), e.message))
            continue
        got = json.dumps(orjson.loads(out))
        if "error" in case or got != _expected(case):
            mismatches.append((n, case.get("error") or _expected(case), got))
    assert mismatches == []


@pytest.mark.parametrize("chunk", range(4))
def test_decoded_documents_give_todays_results(chunk: int):
    """The door every caller with a decoded document uses (CLI, API, web, services)."""
    mismatches = []
    for n, case in enumerate(CASES[chunk::4]):
        try:
            doc = result_dict(check_plan(read_plan(case["plan"], REF), REF), REF)
        except PlanError as e:
            if e.message != case.get("error"):
                mismatches.append((n, case.get("error"), e.message))
            continue
        if "error" in case or json.dumps(doc) != _expected(case):
            mismatches.append((n, case.get("error") or _expected(case), json.dumps(doc)))
    assert mismatches == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"units": 400, "units": 40}',
        b'{"a": {"b": 1, "b": 2}}',
        b'{"a": "x\\": 1", "a": 2}',
        b'{"units": NaN}',
        b'{"units": Infinity}',
        b'{"units": 1e400}',
        b'{"n": 123456789012345678901234567890}',
        b'{"n": -9223372036854775809, "m": 18446744073709551616}',
        b'{"n": "12345678901234567890"}',
        b'{"a" : 1, "a" : 2}',
        # colons in values: the duplicate's value takes its colons with it, or keeps them
        b'{"at": "08:30", "at": "09:30"}',
        b'{"at": "08:30", "at": 1, "t": "1:2:3"}',
        b'{"at": 1, "at": "08:30"}',
        b'[{"at": "08:30"}, {"at": "08:30", "b": {"c": "x:y", "c": "x:y"}}]',
        b'{"at": "2026-11-24T08:30", "lot": "A:1"}',
        b'{"text": "caf\\u00e9", "quote": "a\\"b"}',
        '{"name": "Müller"}'.encode(),
        b'\xef\xbb\xbf{"a": 1}',
        '{"a": 1}'.encode("utf-16"),
        b'{"a": 1',
        b"[1, 2, {}]",
        b'"text"',
    ],
)
def test_the_fast_decoder_gives_the_same_document_or_the_same_error(raw: bytes):
    """loads_json_fast is loads_json at orjson's speed: a key given twice, NaN, a number
    too large for orjson, an escape, a byte-order mark: the same value or the same error."""
    from bontrack.documents import DocumentError, loads_json

    try:
        expected: Any = ("value", loads_json(raw))
    except DocumentError as e:
        expected = ("error", str(e))
    try:
        got: Any = ("value", loads_json_fast(raw))
    except DocumentError as e:
        got = ("error", str(e))
    assert got == expected
    if expected[0] == "value":
        assert json.dumps(got[1]) == json.dumps(expected[1])  # 1 and 1.0 differ here


def test_the_services_door_for_bytes_gives_the_result_document_as_bytes():
    from bontrack.services import check_document, check_json

    case = next(c for c in CASES if "result" in c)
    raw = json.dumps(case["plan"]).encode()
    result, out = check_json(raw, ref=REF)
    same, doc = check_document(json.loads(raw), ref=REF)
    assert json.dumps(orjson.loads(out)) == json.dumps(doc) == _expected(case)
    assert result.verdict == same.verdict == case["result"]["verdict"]
    broken = next(c for c in CASES if "error" in c)
    with pytest.raises(PlanError) as refused:
        check_json(json.dumps(broken["plan"]).encode(), ref=REF)
    assert refused.value.message == broken["error"]


def test_every_exact_spelling_resolves_as_the_folding_look_up_does():
    """The reader's first look-up (``Reference.exact_names``) is only a shortcut: each of
    its spellings gives the id that ``product_id`` & co. give the same text."""
    resolvers = {"product": REF.product_id, "indication": REF.indication_id,
                 "muscle": REF.muscle_id, "condition": REF.condition_id}
    for kind, table in REF.exact_names.items():
        assert len(table) >= len({*table.values()})
        for spelling, found in table.items():
            assert resolvers[kind](spelling) == found, (kind, spelling)
    assert REF.exact_names["product"]["Botox"] == "onabotulinumtoxinA"
    assert REF.exact_names["muscle"]["Biceps brachii"] == "biceps_brachii"


def test_names_typed_otherwise_read_as_their_ids():
    """Names, synonyms, other cases, spaces and punctuation take the long road to the same
    plan (and the same result) as ids."""
    by_id = {
        "date": "2026-11-24",
        "patient": {"age_years": 40, "weight_kg": 70, "conditions": ["dysphagia"]},
        "product": "onabotulinumtoxinA",
        "indication": "upper_limb_spasticity",
        "injections": [
            {"muscle": "biceps_brachii", "side": "left", "units": 100, "sites": 2,
             "guidance": "emg"},
            {"muscle": "brachioradialis", "side": "right", "units": 30},
        ],
    }
    typed = json.loads(json.dumps(by_id))
    typed["product"] = " BOTOX® "
    typed["indication"] = "Upper Limb Spasticity"
    typed["patient"]["conditions"] = ["Dysphagia"]
    typed["injections"][0].update(muscle="Biceps brachii", side=" LEFT", guidance="Emg ")
    typed["injections"][1].update(muscle="BRACHIORADIALIS", side="Right", units=30.0)
    assert read_plan(typed, REF) == read_plan(by_id, REF)
    raw = json.dumps(typed).encode()
    out = result_json(check_plan(read_plan(loads_json_fast(raw), REF), REF), REF)
    assert orjson.loads(out) == result_dict(check_plan(read_plan(by_id, REF), REF), REF)
