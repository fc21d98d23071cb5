"""Nothing leaves the machine: every web page, for every role, and the API docs (/docs,
/redoc) load without the browser attempting a single request outside 127.0.0.1. The pages
are enumerated from the app's own route table, so a new page is covered without editing
this test. Swagger UI must really render (its operations listed) from local assets."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from playwright.sync_api import Page, Route

from bontrack.app import create_app
from bontrack.demo.generator import generate
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade
from bontrack.store.models import Cycle, Patient, User
from bontrack.store.uow import Database
from bontrack.web.analytics_pages import ch
from tests.store.test_durability import Server
from tests.web.conftest import CHROMIUM, sign_in

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytestmark = pytest.mark.skip(reason="Debian chromium is not installed (.ci/run installs it)")

FILES = (".csv", ".pdf", ".png", ".ico")  # downloads and icons, not documents


def page_paths(url: str) -> list[str]:
    """Every GET page of the app (routes kept out of the OpenAPI document, i.e. not the
    API), with its path parameters left as {placeholders}."""
    app = create_app(url)
    out = []
    for r in app.routes:
        if (isinstance(r, APIRoute) and "GET" in r.methods and not r.include_in_schema
                and not r.path.endswith(FILES)):
            out.append(r.path)
    return out


@pytest.fixture(scope="module")
def offline_site(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('offline') / 'offline.db'}"
    engine = make_engine(url)
    upgrade(engine)
    summary = generate(Database(engine), patients=4, seed=5)
    with transaction(session_factory(engine)) as s:
        own = s.query(User).filter_by(username="patient1").one().patient_id
        other = s.query(Patient).filter(Patient.id != own).first().id
        ids = {pid: s.query(Cycle).filter_by(patient_id=pid).first().id for pid in (own, other)}
    engine.dispose()
    srv = Server(url)
    srv.start()
    yield srv, url, {u: (r, p) for u, r, p in summary.accounts}, own, other, ids
    srv.kill(signal.SIGTERM)


def fill(path: str, patient_id: int, cycle_id: int) -> str:
    names = {"patient_id": str(patient_id), "cycle_id": str(cycle_id),
             "vial_id": "1"}  # the demo logs no vial: its "not found" page is loaded
    if path.startswith("/clinic/dashboard/"):
        names["name"] = f"{next(iter(ch.CLINIC_CHARTS))}.svg"
    else:
        names["name"] = "dose.svg"

    def one(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            raise AssertionError(f"no demo value for path parameter {m.group(1)} in {path}")
        return names[m.group(1)]

    return re.sub(r"\{(\w+)\}", one, path)


def guard(page: Page, attempts: list[str], problems: list[str]) -> None:
    def route(r: Route) -> None:
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            attempts.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.context.route("**/*", route)  # workers and popups too
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: script error: {e}"))


def test_no_page_of_any_role_requests_anything_outside_this_server(
        offline_site, browser):
    srv, url, accounts, own, other, cycles = offline_site
    paths = page_paths(url)
    assert "/patients/{patient_id}" in paths and "/docs" in paths and "/redoc" in paths
    roles = {"anonymous": None}
    for username, (role, password) in accounts.items():
        roles.setdefault(role, (username, password))
    assert {"admin", "clinician", "nurse", "patient"} <= set(roles)
    attempts: list[str] = []
    visited = 0
    for role, who in roles.items():
        context = browser.new_context()
        page = context.new_page()
        problems: list[str] = []
        guard(page, attempts, problems)
        if who:
            sign_in(page, srv, *who)
            page.wait_for_load_state("networkidle")
        # a patient also tries another patient's pages (refused); staff see one patient's
        for patient in (own, other) if role == "patient" else (other,):
            for path in paths:
                target = fill(path, patient, cycles[patient])
                response = page.goto(f"{srv.base}{target}", wait_until="networkidle")
                visited += 1
                assert response is not None and response.status < 500, (role, target)
        context.close()
        assert problems == [], (role, problems)
    assert attempts == []
    assert visited >= 6 * len(paths)


def test_swagger_ui_and_redoc_render_from_local_assets(
        offline_site, browser):
    srv, *_ = offline_site
    context = browser.new_context()
    page = context.new_page()
    attempts: list[str] = []
    problems: list[str] = []
    guard(page, attempts, problems)
    page.goto(f"{srv.base}/docs", wait_until="networkidle")
    page.locator(".opblock").first.wait_for(timeout=30_000)
    assert page.locator(".opblock").count() > 40  # the operations are listed
    assert page.locator(".opblock-summary-path", has_text="/api/v1/patients").count() >= 1
    assert page.locator(".opblock-summary-path[data-path='/fhir/$export']").count() == 2
    page.goto(f"{srv.base}/redoc", wait_until="networkidle")
    page.get_by_text("bontrack API").first.wait_for(timeout=30_000)
    assert page.get_by_text("/api/v1/patients/{patient_id}").count() >= 1
    context.close()
    assert attempts == [] and problems == []
