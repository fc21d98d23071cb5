"""Two-step sign-in in a real browser (Chromium via Playwright) against a real server with
BONTRACK_MFA_REQUIRED on: a clinician enrols by QR code after the password step, signs
out, signs in with a code, is refused a wrong code, and signs in with a recovery code."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import pytest

from bontrack.demo.generator import generate
from bontrack.services import mfa
from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database
from tests.store.test_durability import Server
from tests.web.conftest import CHROMIUM, shot, sign_in

if not os.path.exists(CHROMIUM):
    pytestmark = pytest.mark.skip(reason="Debian chromium is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('mfa') / 'web.db'}"
    engine = make_engine(url)
    upgrade(engine)
    summary = generate(Database(engine), patients=2, seed=5)
    engine.dispose()
    before = os.environ.get("BONTRACK_MFA_REQUIRED")
    os.environ["BONTRACK_MFA_REQUIRED"] = "on"
    try:
        srv = Server(url)
        srv.start()
    finally:
        if before is None:
            os.environ.pop("BONTRACK_MFA_REQUIRED")
        else:
            os.environ["BONTRACK_MFA_REQUIRED"] = before
    yield srv, {u: p for u, _, p in summary.accounts}
    srv.kill(signal.SIGTERM)


def code_at(secret: str, seconds_ahead: int = 0) -> str:
    return mfa.current_code(secret, datetime.now(UTC) + timedelta(seconds=seconds_ahead))


def test_enrol_sign_out_sign_in_with_a_code_and_with_a_recovery_code(site, page):
    srv, pw = site
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/mfa/enrol")
    assert page.locator("figure.qr svg").count() == 1  # the QR code, inline SVG
    shot(page, "mfa-enrol")
    secret = page.locator("#secret").inner_text().strip()
    page.get_by_label("Code from the app").fill("000000" if code_at(secret) != "000000"
                                                else "111111")
    page.get_by_role("button", name="Confirm").click()
    assert "wrong" in page.get_by_role("alert").inner_text()
    page.get_by_label("Code from the app").fill(code_at(secret))
    page.get_by_role("button", name="Confirm").click()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them: continue").click()
    page.wait_for_url("**/patients")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")

    # a code: the next time step's (the enrolment spent this one; a code is never reused)
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/login/code")
    wrong = "123456" if code_at(secret, 30) != "123456" else "654321"
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Continue").click()
    assert "wrong" in page.get_by_role("alert").inner_text()
    assert "/patients" not in page.url
    page.get_by_label("Code").fill(code_at(secret, 30))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/patients")
    page.get_by_role("button", name="Sign out").click()

    # a recovery code, once
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/login/code")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/patients")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, srv, "dr.lee", pw["dr.lee"])
    page.wait_for_url("**/login/code")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    assert "wrong" in page.get_by_role("alert").inner_text()  # spent


def test_a_nurse_signs_in_with_the_password_alone(site, page):
    srv, pw = site
    sign_in(page, srv, "nurse.kim", pw["nurse.kim"])
    page.wait_for_url("**/patients")
