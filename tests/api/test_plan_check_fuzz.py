"""The plan check fuzzed through its two doors, the API and the CLI: random plan documents
(valid plans with one field replaced by any JSON value, and arbitrary JSON) get a result or
a clean error naming the field; never a 500, a traceback or a hang."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.clinical.test_properties import PATHS, json_values, mutate, plans

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=5),
    max_leaves=25)


def _sendable(doc) -> bool:
    """JSON itself has no NaN or Infinity: such documents cannot be sent at all."""
    try:
        json.dumps(doc, allow_nan=False)
    except ValueError:
        return False
    return True


def _answer_is_clean(r) -> None:
    assert r.status_code in (200, 422), (r.status_code, r.text[:300])
    body = r.json()
    if r.status_code == 200:
        assert body["verdict"] in ("ok", "warning", "stop")
    else:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert body["detail"] and body.get("field")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=plans, path=st.sampled_from(PATHS), value=json_values)
def test_api_plan_check_with_a_field_replaced(api, doc, path, value) -> None:
    bad = mutate(doc, path, value)
    assume(_sendable(bad))
    _answer_is_clean(api.post("doc", "/api/v1/plan-check", json=bad))


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=ANY_JSON)
def test_api_plan_check_with_any_json(api, doc) -> None:
    r = api.post("doc", "/api/v1/plan-check", json=doc)
    _answer_is_clean(r)


def _cli(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           "check", "-", "--json"], input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=plans, path=st.sampled_from(PATHS), value=json_values)
def test_cli_plan_check_with_a_field_replaced(doc, path, value) -> None:
    bad = mutate(doc, path, value)
    assume(_sendable(bad))
    r = _cli(json.dumps(bad))
    assert r.returncode in (0, 1, 2), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    if r.returncode == 2:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    else:
        assert json.loads(r.stdout)["verdict"] in ("ok", "warning", "stop")


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=200))
def test_cli_plan_check_with_any_text(text) -> None:
    r = _cli(text)
    assert r.returncode in (0, 1, 2) and "Traceback" not in r.stderr + r.stdout
