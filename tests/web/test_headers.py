"""Security headers on pages and API answers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bontrack.app import create_app
from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade


def client(tmp_path) -> TestClient:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(make_engine(url))
    return TestClient(create_app(url))


def test_pages_carry_a_strict_csp_and_anti_framing_headers(tmp_path):
    with client(tmp_path) as c:
        r = c.get("/login")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in r.headers  # plain HTTP


def test_hsts_only_over_https(tmp_path):
    with client(tmp_path) as c:
        c.base_url = "https://testserver"
        r = c.get("https://testserver/health")
        assert r.headers["strict-transport-security"].startswith("max-age=")


def test_api_errors_carry_the_headers_too(tmp_path):
    with client(tmp_path) as c:
        r = c.get("/api/v1/patients")
        assert r.status_code == 401 and r.headers["x-content-type-options"] == "nosniff"


def test_an_unexpected_error_is_a_500_problem_with_headers_and_no_internals(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(make_engine(url))
    app = create_app(url)

    @app.get("/boom")
    def boom() -> None:
        raise ZeroDivisionError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "incident" in r.json()["detail"]
    assert "ZeroDivision" not in r.text and "secret" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_api_docs_pages_load_only_local_scripts_under_a_csp(tmp_path):
    import re

    with client(tmp_path) as c:
        for path in ("/docs", "/redoc"):
            r = c.get(path)
            assert r.status_code == 200
            csp = r.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "unsafe-eval" not in csp
            assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
            scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
            assert scripts and all(
                re.search(r'src="/static/', attrs) and not body.strip()
                for attrs, body in scripts), scripts
            assert "http://" not in r.text and "https://" not in r.text
            for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
                assert c.get(src).status_code == 200, src


def test_answers_with_patient_data_are_never_cached_but_static_files_may_be(tmp_path):
    """ASVS V8.2.1: pages, API and FHIR answers say ``Cache-Control: no-store`` (set where a
    route set nothing else); the page's own scripts and styles may be cached."""
    with client(tmp_path) as c:
        for path in ("/login", "/api/v1/patients", "/fhir/metadata", "/health"):
            r = c.get(path)
            assert r.headers["cache-control"] == "no-store", path
        r = c.get("/static/app.css")
        assert r.status_code == 200 and "no-store" not in r.headers.get("cache-control", "")
