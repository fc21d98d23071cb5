"""Issue 15, item 1: ids the database cannot hold, non-ASCII digits, NUL in a search and a
malformed $export body are client errors (404 or 422, 400 for $export), never 5xx, at every
door of the whole application (/api, /fhir and the web pages), on SQLite and PostgreSQL.
The ``{id}`` routes are enumerated from the application, so a new one is covered the day it
is added. Another clinic's record id is "not found" naming only what was asked."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from bontrack.app import create_app
from tests.api.conftest import PASSWORD, _template, copy_database, uls_cycle

HUGE = ["2147483648", "9223372036854775808", "-9223372036854775809",
        "99999999999999999999999"]


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory, tmp_path) -> Iterator[Any]:
    template_url, ids, tokens = _template(request.param, tmp_path_factory)
    url, drop = copy_database(template_url, request.param, tmp_path)
    app = create_app(url)
    app.state.fhir_jobs.root = tmp_path / "bulk"
    with TestClient(app, raise_server_exceptions=False) as client:
        client.ids, client.tokens = dict(ids), dict(tokens)  # type: ignore[attr-defined]
        yield client
    app.state.bontrack.db.dispose()
    drop()


def bearer(site: Any, who: str = "doc") -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[who]}"}


def sign_in(site: Any, who: str = "doc") -> None:
    site.get("/login")
    r = site.post("/login", data={"username": who, "password": PASSWORD,
                                  "csrf": site.cookies.get("bt_csrf") or ""},
                  follow_redirects=False)
    assert r.status_code == 303, r.text


def all_routes(routes: Any, prefix: str = "") -> Iterator[Route]:
    """Every route, also those of included routers (FastAPI keeps them inside an included
    router object, not in ``app.routes`` itself)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            more = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            yield from all_routes(inner.routes, prefix + more)
        elif isinstance(route, Route):
            route.full_path = prefix + route.path  # type: ignore[attr-defined]
            yield route


def id_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in all_routes(app.routes):
        path = route.full_path  # type: ignore[attr-defined]
        if re.search(r"\{\w+_id\}", path):
            for method in sorted(route.methods or ()):
                if method not in ("HEAD", "OPTIONS"):
                    out.append((method, path))
    return out


def test_every_id_route_answers_a_huge_id_with_404_or_422(site):
    sign_in(site)
    routes = [r for r in id_routes(site.app) if "$export" not in r[1]]
    assert len(routes) > 30
    for method, path in routes:
        for big in HUGE:
            url = re.sub(r"\{\w+_id\}", big, path)
            url = re.sub(r"\{\w+\}", "pain_nrs", url)
            headers = bearer(site) if path.startswith(("/api/", "/fhir/")) else {}
            data = {"csrf": site.cookies.get("bt_csrf") or ""} if method == "POST" else None
            r = site.request(method, url, headers=headers, data=data, follow_redirects=False)
            assert r.status_code in (404, 422), (method, url, r.status_code, r.text[:300])


@pytest.mark.parametrize("path", [
    "/fhir/Patient/2147483648", "/fhir/Patient/99999999999999999", "/fhir/Patient/%C2%B3",
    "/fhir/Observation/weight-2147483648", "/fhir/Observation/weight-%C2%B3",
    "/fhir/Procedure/9223372036854775808", "/fhir/Patient/2147483648/$everything",
    "/fhir/Patient/%C2%B3/$everything",
])
def test_fhir_reads_of_ids_no_record_can_have_are_404(site, path):
    r = site.get(path, headers=bearer(site))
    assert r.status_code == 404, (path, r.status_code, r.text[:300])
    assert r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("query", [
    "Observation?_id=2147483648", "Observation?_id=%C2%B3", "Observation?_id=weight-%C2%B3",
    "Condition?patient=Patient/%C2%B3", "Condition?subject=9223372036854775808",
    "Patient?_count=%C2%B3", "Patient?_offset=99999999999999999999",
])
def test_fhir_searches_with_ids_no_record_can_have_are_422_naming_the_parameter(site, query):
    r = site.get(f"/fhir/{query}", headers=bearer(site))
    assert r.status_code == 422, (query, r.status_code, r.text[:300])
    name = query.split("?")[1].split("=")[0]
    assert r.json()["issue"][0]["expression"] == [name]


def test_a_nul_in_the_patient_search_is_422_naming_q(site):
    r = site.get("/api/v1/patients?q=a%00b", headers=bearer(site))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "q"
    sign_in(site)
    assert site.get("/patients?q=a%00b").status_code == 422


def test_an_anonymous_export_with_a_malformed_body_is_401_without_a_traceback(site, caplog):
    with caplog.at_level(logging.INFO):
        for path in ("/fhir/$export", "/fhir/Patient/$export"):
            r = site.post(path, json={"parameter": "abc"})
            assert r.status_code == 401, r.text
            assert r.json()["resourceType"] == "OperationOutcome"
    assert not [rec for rec in caplog.records if rec.exc_info], "a traceback was logged"


@pytest.mark.parametrize("body", ['{"parameter":"abc"}', '{"parameter":["abc"]}',
                                  '{"parameter":{"name":"_type"}}', "[1]", "not json"])
def test_a_signed_in_export_with_a_malformed_body_is_400_naming_parameter(site, body, caplog):
    with caplog.at_level(logging.INFO):
        r = site.post("/fhir/$export", content=body, headers=bearer(site))
    assert r.status_code == 400, r.text
    assert r.json()["issue"][0]["expression"] == ["parameter"]
    assert not [rec for rec in caplog.records if rec.exc_info], "a traceback was logged"


def test_another_clinics_record_is_not_found_naming_only_what_was_asked(site):
    pb = site.ids["pb"]
    r = site.post(f"/api/v1/patients/{pb}/cycles", json=uls_cycle(),
                  headers=bearer(site, "doc_b"))
    assert r.status_code == 201, r.text
    cycle_id = r.json()["id"]
    r = site.post(f"/api/v1/patients/{pb}/goals", json={"description": "Walk"},
                  headers=bearer(site, "doc_b"))
    assert r.status_code == 201, r.text
    goal_id = r.json()["id"]
    for method, path, asked in [
            ("GET", f"/api/v1/cycles/{cycle_id}", f"cycle {cycle_id}"),
            ("POST", f"/api/v1/cycles/{cycle_id}/sign", f"cycle {cycle_id}"),
            ("POST", f"/api/v1/goals/{goal_id}/score", f"goal {goal_id}")]:
        body = {"attainment": 0, "version": 1} if "score" in path else None
        r = site.request(method, path, json=body, headers=bearer(site))
        assert r.status_code == 404, r.text
        assert r.json()["detail"] == f"{asked} not found"
        assert "patient" not in r.text and str(pb) not in r.text.replace(asked, "")
