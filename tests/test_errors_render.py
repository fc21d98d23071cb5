"""Issue 14, item 3: one error renderer. The tree is mapped once (errors_render.describe) and
rendered by place: problem+json under /api, OperationOutcome under /fhir, the web's page
elsewhere, one line and exit 2 in the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient

from bontrack import errors
from bontrack.errors_render import EXIT_ERROR, Problem, cli_line, describe
from bontrack.server.errors import install_error_handlers, set_page_renderer


@pytest.mark.parametrize(("exc", "status", "field"), [
    (errors.NotAuthenticated("sign in"), 401, None),
    (errors.NotFound("no such patient"), 404, None),
    (errors.Conflict("locked"), 409, None),
    (errors.VersionMismatch("stale", field="If-Match"), 412, "If-Match"),
    (errors.InvalidRecord("too high", field="value"), 422, "value"),
    (errors.TooManyAttempts("wait"), 429, None),
    (errors.PlanError("plan", "dose", "too high"), 422, "dose"),
    (errors.ScaleError("modified_ashworth", "5 is not on the scale"), 400, None),
    (errors.DocumentError("not valid JSON"), 400, None),
    (errors.UnitsMismatchError("units of A and B are not interchangeable"), 400, None),
    (errors.DatabaseUnavailable("no such database"), 400, None),
])
def test_the_tree_is_mapped_once(exc, status, field):
    p = describe(exc)
    assert (p.status, p.field) == (status, field)
    assert p.detail and p.title


def test_extras_of_the_api_answer():
    stop = describe(errors.StopNotOverridden("stops", [{"code": "X"}]))
    assert stop.extra == {"findings": [{"code": "X"}]} and stop.field == "overrides"
    assert describe(errors.NotAuthenticated("x")).headers == {"WWW-Authenticate": "Bearer"}
    assert describe(errors.PasswordChangeRequired("x")).extra["change_password"]


def test_the_cli_line():
    assert cli_line(errors.PlanError("plan.yaml", "dose", "too high")) == \
        "bontrack: error: plan.yaml: dose: too high"
    assert EXIT_ERROR == 2


def app_with(page: bool) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    def boom(request: Request) -> Response:
        raise errors.InvalidRecord("value: too high", field="value")

    for path in ("/api/v1/x", "/fhir/Patient/1", "/patients/1"):
        app.add_api_route(path, boom)

    if page:
        def html(request: Request, p: Problem, exc: BaseException) -> Response:
            return HTMLResponse(f"<h1>{p.title}</h1><p>{p.detail}</p>", status_code=p.status)

        set_page_renderer(app, html)
    return TestClient(app, raise_server_exceptions=False)


def test_rendered_by_place():
    client = app_with(page=True)
    api = client.get("/api/v1/x")
    assert api.status_code == 422
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["field"] == "value"
    fhir = client.get("/fhir/Patient/1")
    assert fhir.status_code == 422
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    assert fhir.json()["resourceType"] == "OperationOutcome"
    assert fhir.json()["issue"][0]["expression"] == ["value"]
    web = client.get("/patients/1")
    assert web.status_code == 422 and web.headers["content-type"].startswith("text/html")
    assert "too high" in web.text


def test_without_the_web_everything_outside_fhir_is_problem_json():
    web = app_with(page=False).get("/patients/1")
    assert web.headers["content-type"].startswith("application/problem+json")


def test_the_cli_prints_one_line_and_exits_2(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text("{not json")
    r = subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                        "check", str(plan)], capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bontrack: error: "), r.stderr
    assert "Traceback" not in r.stderr
