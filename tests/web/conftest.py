"""What the browser tests share: Debian's Chromium driven by Playwright, a page per test, a
demo site served by a real server process, sign-in and screenshots."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from bontrack.demo.generator import generate
from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database
from tests.store.test_durability import Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HAVE_CHROMIUM = Path(CHROMIUM).exists()

if not HAVE_CHROMIUM and os.environ.get("CI"):
    raise RuntimeError("CI needs Debian's chromium (.ci/run installs it)")


def demo_site(tmp_path_factory, name: str = "web", patients: int = 6, seed: int = 21,
              env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A migrated demo database served by a real server process (``env`` set for the
    server only); yields (server, passwords by username)."""
    url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'web.db'}"
    engine = make_engine(url)
    upgrade(engine)
    summary = generate(Database(engine), patients=patients, seed=seed)
    engine.dispose()
    before = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        srv = Server(url)
        srv.start()
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return srv, {u: p for u, _, p in summary.accounts}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    srv, passwords = demo_site(tmp_path_factory)
    yield srv, passwords
    srv.kill(signal.SIGTERM)


@pytest.fixture(scope="module")
def browser():
    if not HAVE_CHROMIUM:
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def sign_in(page, srv, username, password):  # type: ignore[no-untyped-def]
    page.goto(f"{srv.base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
