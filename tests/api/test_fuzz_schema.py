"""Schemathesis fuzzes the REST API from its own OpenAPI schema, signed in as each role.

Every generated request must get an answer that is not a 5xx, whose status code and body
match what the schema publishes, and that never carries another clinic's or another
patient's data. Marker records are planted in clinic B and in the second patient's record;
their marker text must never appear in an answer to a clinic A user (or to patient 1), and
their ids must never answer 2xx.

The number of examples per operation is ``BONTRACK_FUZZ_EXAMPLES`` (default 4 in CI, which gives
about 2,500 requests per role, most from schemathesis' coverage phase). The
documented run in docs/reliability.md sets it high enough for at least 5,000 requests per role.
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

EXAMPLES = int(os.environ.get("BONTRACK_FUZZ_EXAMPLES", "4"))
ROLES = ("admin", "doc", "nurse", "pat")
OTHER_CLINIC = "KIMOTHER-SECRET"
OTHER_PATIENT = "SAMEXAMPLE-SECRET"
SENT: Counter[str] = Counter()
STATUS: Counter[Any] = Counter()
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


def _ids_in_use(spec: dict[str, Any]) -> dict[str, Any]:
    """Draw ``{id}`` path parameters from the small range of ids that exist, so the fuzzer
    reaches real records (its own clinic's and the planted foreign ones) instead of spending
    nearly every request on a 404. Sign-out is left out: it would revoke the fuzzer's own
    tokens (it has its own tests)."""
    spec["paths"].pop("/api/v1/auth/logout")  # it would revoke the fuzzer's own tokens
    for item in spec["paths"].values():
        for operation in item.values():
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["name"].endswith("_id"):
                    param["schema"] = {"type": "integer", "minimum": 1, "maximum": 8}
    return spec


# The schema is loaded when pytest collects this module, so that each API operation is a test of
# its own. (schemathesis' fixture loader, ``schemathesis.pytest.from_fixture``, renames the running
# item through pytest's private ``Node._nodeid``, which pytest 9.2 replaced by a structured node
# id: under pytest 9.2 it fails with "'Function' object has no attribute '_nodeid'". The eager
# loader below goes through pytest's public item API.) FastAPI builds the OpenAPI document
# without touching a database, so an app on a never-opened in-memory SQLite yields it; every
# request goes to the app on the seeded database that the ``fuzz_app`` fixture builds.
_SPEC_APP = create_app("sqlite://")
schema = schemathesis.openapi.from_dict(_ids_in_use(_SPEC_APP.openapi()))
schema.app = _SPEC_APP  # ASGI transport; each call passes the seeded app instead


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory):
    template_url, ids, tokens = _template("sqlite", tmp_path_factory)
    url, drop = copy_database(template_url, "sqlite", tmp_path_factory.mktemp("fuzz"))
    app = create_app(url)
    with TestClient(app) as client:
        STATE["planted"] = _plant(client, tokens, ids)
    STATE["tokens"] = tokens
    yield app
    app.state.bontrack.db.dispose()
    drop()
    out = Path("artifacts")
    out.mkdir(exist_ok=True)
    statuses = Counter(str(code) for (_, _, code), n in STATUS.items() for _ in range(n))
    (out / "fuzz-requests.json").write_text(json.dumps(
        {"requests_per_role": dict(SENT), "statuses": dict(sorted(statuses.items())),
         "by_operation": {f"{m} {p} {c}": n for (m, p, c), n in sorted(STATUS.items(), key=str)}},
        indent=1))
    print(f"\nschemathesis requests per role: {dict(SENT)}; statuses: {dict(statuses)}")


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


# Parametrised by role as well: under pytest 9.2 the items schemathesis makes take their node id
# from the function's name alone, and a pytest parameter gives each operation and role its own.
@schema.parametrize()
@pytest.mark.parametrize("role", ROLES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_api_answers_within_its_schema_and_never_leaks(case, role, fuzz_app) -> None:
    """Each operation is fuzzed as each role, with that role's token."""
    SENT[role] += 1
    response = case.call(app=fuzz_app,
                         headers={"Authorization": f"Bearer {STATE['tokens'][role]}"})
    STATUS[(case.method, case.path, response.status_code)] += 1
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                response_schema_conformance, no_foreign_data(role)],
    )
