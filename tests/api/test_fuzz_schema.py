"""Schemathesis fuzzes the REST API from its own OpenAPI schema, signed in as each role.

Every generated request must get an answer that is not a 5xx, whose status code and body
match what the schema publishes, and that never carries another clinic's or another
patient's data. Marker records are planted in clinic B and in the second patient's record;
their marker text must never appear in an answer to a clinic A user (or to patient 1), and
their ids must never answer 2xx.

Both databases (SQLite and PostgreSQL), every phase: examples, coverage and fuzzing per
operation, then the stateful phase (sequences that follow the links schemathesis infers,
feeding ids from real answers into the next call). Path ids range over what the API publishes
(out-of-range ids included), with the ids that exist as examples.

Counts: ``BONTRACK_FUZZ_EXAMPLES`` examples per operation (default 2), ``BONTRACK_FUZZ_SCENARIOS``
stateful scenarios per role (default 10) of up to ``BONTRACK_FUZZ_STEPS`` calls (default 10),
``BONTRACK_FUZZ_DATABASES`` (default ``sqlite,postgresql``). CI runs the defaults. The
documented run (docs/reliability.md section 5, at least 20,000 requests over the four roles on
each database) is::

    BONTRACK_FUZZ_EXAMPLES=8 BONTRACK_FUZZ_SCENARIOS=100 BONTRACK_FUZZ_STEPS=15 \
        python -m pytest tests/api/test_fuzz_schema.py -s

and ``python -m tests.api.live_fuzz`` runs schemathesis' own command line against a real
server process.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bontrack.api.app import create_app
from tests.api.conftest import _template, copy_database, uls_cycle

EXAMPLES = int(os.environ.get("BONTRACK_FUZZ_EXAMPLES", "2"))
SCENARIOS = int(os.environ.get("BONTRACK_FUZZ_SCENARIOS", "10"))
STEPS = int(os.environ.get("BONTRACK_FUZZ_STEPS", "10"))
DATABASES = os.environ.get("BONTRACK_FUZZ_DATABASES", "sqlite,postgresql").split(",")
ROLES = ("admin", "doc", "nurse", "pat")
OTHER_CLINIC = "KIMOTHER-SECRET"
OTHER_PATIENT = "SAMEXAMPLE-SECRET"
SENT: Counter[tuple[str, str, str]] = Counter()
STATUS: Counter[tuple[str, str, str, int]] = Counter()
STATE: dict[str, Any] = {}


def _plant(client: TestClient, tokens: dict[str, str], ids: dict[str, int]) -> dict[str, Any]:
    """Records whose text is a marker: clinic B's, and patient 2's (for the patient role)."""
    planted: dict[str, Any] = {"other_clinic_ids": set(), "other_patient_ids": set()}

    def post(who: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[who]}"})
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    for who, pid, marker, key in (("doc_b", ids["pb"], OTHER_CLINIC, "other_clinic_ids"),
                                  ("doc", ids["p2"], OTHER_PATIENT, "other_patient_ids")):
        base = f"/api/v1/patients/{pid}"
        goal = post(who, f"{base}/goals", {"description": f"{marker} goal"})
        post(who, f"{base}/side-effects", {"term": f"{marker} bruising",
                                            "onset": "2026-11-20", "severity": "mild"})
        if pid == ids["p2"]:  # only the patient writes their diary
            post("pat2", f"{base}/diary", {"entry_date": "2026-11-21", "note": f"{marker} diary"})
        body = uls_cycle(note=f"{marker} cycle")
        if pid == ids["p2"]:  # a child: a paediatric lower-limb cycle within the label
            body = uls_cycle(note=f"{marker} cycle",
                             injections=[{"muscle": "biceps_brachii", "side": "left",
                                          "units": 60, "sites": 2}],
                             vials=[{"size_units": 100, "diluent_ml": 2}])
        cycle = client.post(f"{base}/cycles", json=body,
                            headers={"Authorization": f"Bearer {tokens[who]}"})
        planted[key] |= {("patient_id", pid), ("goal_id", goal["id"])}
        assert cycle.status_code == 201, cycle.text
        planted[key].add(("cycle_id", cycle.json()["id"]))
    return planted


def _published_ids(spec: dict[str, Any]) -> dict[str, Any]:
    """Path ids keep the range the API publishes (1 .. 2^31 - 1, so that out-of-range ids and
    the boundaries are fuzzed too: issue 15 found 5xx past 2^63 on SQLite and 2^31 on
    PostgreSQL); the ids that exist are added as examples so the fuzzer also reaches real
    records (its own clinic's and the planted foreign ones) instead of spending nearly every
    request on a 404. Sign-out is left out: it would revoke the fuzzer's own tokens (it has
    its own tests)."""
    spec["paths"].pop("/api/v1/auth/logout")
    for item in spec["paths"].values():
        for operation in item.values():
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["name"].endswith("_id"):
                    if param["schema"].get("type") == "integer":
                        assert param["schema"].get("maximum"), param  # the published bound
                        param["schema"]["examples"] = list(range(1, 9))
                    else:  # FHIR ids are strings: any string, and the ids that exist
                        param["schema"]["examples"] = [str(i) for i in range(1, 9)]
    return spec


# The schema is loaded when pytest collects this module, so that each API operation is a test of
# its own. (schemathesis' fixture loader, ``schemathesis.pytest.from_fixture``, renames the running
# item through pytest's private ``Node._nodeid``, which pytest 9.2 replaced by a structured node
# id: under pytest 9.2 it fails with "'Function' object has no attribute '_nodeid'". The eager
# loader below goes through pytest's public item API.) FastAPI builds the OpenAPI document
# without touching a database, so an app on a never-opened in-memory SQLite yields it; every
# request goes to the app on the seeded database that the ``fuzz_app`` fixture builds.
_SPEC_APP = create_app("sqlite://")
schema = schemathesis.openapi.from_dict(_published_ids(_SPEC_APP.openapi()))
schema.app = _SPEC_APP  # ASGI transport; each call passes the seeded app instead


@pytest.fixture(scope="module", params=DATABASES)
def fuzz_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The app on a seeded copy of the template database, once per database for the module."""
    kind = request.param
    template_url, ids, tokens = _template(kind, tmp_path_factory)
    url, drop = copy_database(template_url, kind, tmp_path_factory.mktemp("fuzz"))
    app = create_app(url)
    with TestClient(app) as client:
        STATE["planted"] = _plant(client, tokens, ids)
    STATE["tokens"] = tokens
    STATE["kind"] = kind
    yield app
    app.state.bontrack.db.dispose()
    drop()
    _write_counts()


def _write_counts() -> None:
    """artifacts/fuzz-requests.json: requests per database and role, statuses, and every
    operation's statuses (the documented run in docs/security.md quotes it)."""
    out = Path("artifacts")
    out.mkdir(exist_ok=True)
    statuses: dict[str, Counter[str]] = {}
    for (kind, _, _, code), n in STATUS.items():
        statuses.setdefault(kind, Counter())[str(code)] += n
    sent: dict[str, dict[str, int]] = {}
    for (kind, role, _phase), n in SENT.items():
        sent.setdefault(kind, {}).setdefault(role, 0)
        sent[kind][role] += n
    phases: Counter[str] = Counter()
    for (kind, _, phase), n in SENT.items():
        phases[f"{kind} {phase}"] += n
    server_errors = {f"{k} {m} {p}": n for (k, m, p, c), n in STATUS.items() if c >= 500}
    (out / "fuzz-requests.json").write_text(json.dumps(
        {"examples_per_operation": EXAMPLES, "stateful_scenarios": SCENARIOS,
         "requests_per_role": sent, "requests_per_phase": dict(phases),
         "statuses": {k: dict(sorted(v.items())) for k, v in statuses.items()},
         "server_errors": server_errors,
         "by_operation": {f"{k} {m} {p} {c}": n
                          for (k, m, p, c), n in sorted(STATUS.items(), key=str)}},
        indent=1))
    print(f"\nschemathesis requests: {sent}; statuses: "
          f"{ {k: dict(v) for k, v in statuses.items()} }")


def no_foreign_data(role: str):
    """A check: no 2xx answer names a planted id of another clinic/patient or their text."""

    def check(ctx: Any, response: Any, case: Any) -> None:
        if not 200 <= response.status_code < 300:
            return
        planted = STATE["planted"]
        forbidden = set(planted["other_clinic_ids"])
        markers = [OTHER_CLINIC]
        if role == "pat":
            forbidden |= planted["other_patient_ids"]
            markers.append(OTHER_PATIENT)
        for name, value in (case.path_parameters or {}).items():
            assert (name, value) not in forbidden, (
                f"{role} got {response.status_code} for another's {name}={value}")
        text = response.content.decode("utf-8", "replace")
        for marker in markers:
            assert marker not in text, f"{role} received another's record ({marker})"

    return check


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _call(app: Any, case: Any, role: str, phase: str) -> Any:
    SENT[(STATE["kind"], role, phase)] += 1
    response = case.call(app=app, headers={"Authorization": f"Bearer {STATE['tokens'][role]}"})
    STATUS[(STATE["kind"], case.method, case.path, response.status_code)] += 1
    return response


# Parametrised by role as well: under pytest 9.2 the items schemathesis makes take their node id
# from the function's name alone, and a pytest parameter gives each operation and role its own.
@schema.parametrize()
@pytest.mark.parametrize("role", ROLES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_api_answers_within_its_schema_and_never_leaks(case, role, fuzz_app) -> None:
    """Each operation is fuzzed as each role, with that role's token: examples, coverage and
    fuzzing phases (schemathesis' defaults for the pytest integration)."""
    response = _call(fuzz_app, case, role, "operations")
    case.validate_response(response, checks=[*CHECKS, no_foreign_data(role)])


@pytest.mark.parametrize("role", ROLES)
def test_stateful_sequences_never_fail_or_leak(role: str, fuzz_app: Any) -> None:
    """The stateful phase: sequences of calls that follow the links schemathesis infers from
    the schema (a created goal's id into its entered-in-error call, a patient's id into its
    cycles and FHIR ``$everything``...), so ids come from real answers, as an attacker with an
    account would chain them."""
    machine = schema.as_state_machine()

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def call(self, case: Any, **kwargs: Any) -> Any:
            return _call(fuzz_app, case, role, "stateful")

        def validate_response(self, response: Any, case: Any,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=[*CHECKS, no_foreign_data(role)])

    Workflow.run(settings=settings(max_examples=SCENARIOS, deadline=None, derandomize=True,
                                   suppress_health_check=list(HealthCheck),
                                   stateful_step_count=STEPS))
