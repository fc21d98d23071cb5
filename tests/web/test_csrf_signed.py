"""Issue 15 item 9: CSRF tokens are signed by the server and bound to the session. A double
submit with a pair the attacker chose, a token carried over from another session, and the
token a browser had before signing in are all refused; the real flow works."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bontrack.app import create_app
from tests.api.conftest import PASSWORD, _template, copy_database


@pytest.fixture
def site(tmp_path_factory, tmp_path):
    template_url, _ids, _tokens = _template("sqlite", tmp_path_factory)
    url, drop = copy_database(template_url, "sqlite", tmp_path)
    app = create_app(url)
    yield app
    app.state.bontrack.db.dispose()
    drop()


def login_form(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(client: TestClient, who: str = "doc") -> str:
    token = login_form(client)
    r = client.post("/login", data={"username": who, "password": PASSWORD, "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return token


def test_the_real_flow_signs_in_and_posts_with_the_new_sessions_token(site):
    with TestClient(site) as browser:
        before = sign_in(browser)
        after = browser.cookies.get("bt_csrf")
        assert after and after != before and "." in after
        r = browser.post("/logout", data={"csrf": after}, follow_redirects=False)
        assert r.status_code == 303


def test_an_attacker_chosen_pair_is_refused(site):
    with TestClient(site) as browser:
        browser.cookies.set("bt_csrf", "attacker-chosen")
        r = browser.post("/login", data={"username": "doc", "password": PASSWORD,
                                         "csrf": "attacker-chosen"}, follow_redirects=False)
        assert r.status_code == 403
        forged = "nonce.c2lnbmF0dXJl"  # the right shape, not the server's signature
        browser.cookies.set("bt_csrf", forged)
        r = browser.post("/login", data={"username": "doc", "password": PASSWORD,
                                         "csrf": forged}, follow_redirects=False)
        assert r.status_code == 403


def test_a_token_from_before_sign_in_or_from_another_session_is_refused(site):
    with TestClient(site) as alice, TestClient(site) as mallory:
        old = sign_in(alice)  # the token alice's browser had on the sign-in page
        session = alice.cookies.get("bt_session")
        alice.cookies.set("bt_csrf", old)
        r = alice.post("/logout", data={"csrf": old}, follow_redirects=False)
        assert r.status_code == 403
        sign_in(mallory, "doc2")
        theirs = mallory.cookies.get("bt_csrf")
        alice.cookies.set("bt_csrf", theirs)
        assert alice.cookies.get("bt_session") == session
        r = alice.post("/logout", data={"csrf": theirs}, follow_redirects=False)
        assert r.status_code == 403
