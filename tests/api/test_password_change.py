"""A password set by an administrator (`users add`, `users set-password`) must be changed
by its user before any session is issued: the token endpoint answers 403 problem+json that
says so, the web sign-in leads to the change-password page and nothing else, and the
self-service change needs the current password. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bontrack.app import create_app
from bontrack.errors import InvalidRecord, NotFound
from bontrack.services import accounts
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade
from bontrack.store.models import AuditEvent, User
from bontrack.store.uow import Database

SET_BY_ADMIN = "amber kettle orbit 93"
OWN = "violet canyon drum 58"


@pytest.fixture
def site(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        clinic = accounts.get_or_create_clinic(s, "Clinic A")
        accounts.add_user(s, clinic=clinic, username="dr.new", password=SET_BY_ADMIN,
                          role="clinician", must_change_password=True)
    app = create_app(db_url, database=Database(engine))
    with TestClient(app, base_url="https://testserver") as c:
        yield c, sessions
    engine.dispose()


def token(client, username: str, password: str):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def change(client, current: str, new: str, username: str = "dr.new"):
    return client.post("/api/v1/auth/password", json={
        "username": username, "current_password": current, "new_password": new})


def test_the_token_endpoint_refuses_a_password_set_by_an_admin_with_a_clear_problem(site):
    client, sessions = site
    r = token(client, "dr.new", SET_BY_ADMIN)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "/problems/password-change-required"
    assert body["title"] == "Password change required"
    assert "/api/v1/auth/password" in body["detail"] and "access_token" not in body
    with transaction(sessions) as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.action, last.outcome) == ("sign_in", "denied")
        assert "password change required" in last.detail


def test_a_wrong_password_is_still_just_wrong_not_a_hint_that_a_change_is_due(site):
    client, _ = site
    r = token(client, "dr.new", "not the password at all")
    assert r.status_code == 401 and "change" not in r.json()["detail"]


def test_the_self_service_change_needs_the_current_password_and_a_good_new_one(site):
    client, _ = site
    assert change(client, "wrong current password", OWN).status_code == 401
    r = change(client, SET_BY_ADMIN, "short")
    assert r.status_code == 422 and r.json()["field"] == "new_password"
    r = change(client, SET_BY_ADMIN, SET_BY_ADMIN)
    assert r.status_code == 422 and "differ" in r.json()["detail"]
    assert token(client, "dr.new", SET_BY_ADMIN).status_code == 403  # nothing changed
    assert change(client, SET_BY_ADMIN, OWN).status_code == 204
    assert token(client, "dr.new", SET_BY_ADMIN).status_code == 401
    r = token(client, "dr.new", OWN)
    assert r.status_code == 200, r.text
    me = client.get("/api/v1/patients", headers={"Authorization":
                                                 f"Bearer {r.json()['access_token']}"})
    assert me.status_code == 200


def test_set_password_by_an_admin_ends_sessions_and_requires_a_change_again(site):
    client, sessions = site
    assert change(client, SET_BY_ADMIN, OWN).status_code == 204
    bearer = token(client, "dr.new", OWN).json()["access_token"]
    with transaction(sessions) as s:
        accounts.set_password(s, "dr.new", "second admin choice 71")
    r = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {bearer}"})
    assert r.status_code == 401
    assert token(client, "dr.new", "second admin choice 71").status_code == 403
    with transaction(sessions) as s:
        user = s.scalar(select(User).where(User.username == "dr.new"))
        assert user.must_change_password and "second admin" not in user.password_hash
        events = [(e.action, e.entity_id) for e in s.scalars(select(AuditEvent))]
        assert ("set_password", user.id) in events and ("change_password", user.id) in events


def test_set_password_refuses_a_weak_password_and_an_unknown_user(site):
    _, sessions = site
    with pytest.raises(InvalidRecord, match="at least 12"), transaction(sessions) as s:
        accounts.set_password(s, "dr.new", "short")
    with pytest.raises(NotFound), transaction(sessions) as s:
        accounts.set_password(s, "nobody", "a fine long passphrase 12")


def _csrf(client) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_the_web_sign_in_leads_to_the_change_password_page_and_nothing_else(site):
    client, _ = site
    r = client.post("/login", data={"username": "dr.new", "password": SET_BY_ADMIN,
                                    "csrf": _csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/password?")
    assert "bt_session" not in r.cookies
    assert client.get("/patients", follow_redirects=False).status_code in (303, 401)
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "set by an administrator" in page.text
    form = {"username": "dr.new", "current_password": SET_BY_ADMIN, "new_password": OWN,
            "confirm_password": OWN + "x", "csrf": _csrf(client)}
    r = client.post("/password", data=form, follow_redirects=False)
    assert r.status_code == 422 and "differ" in r.text
    form["confirm_password"] = "short"
    form["new_password"] = "short"
    r = client.post("/password", data=form, follow_redirects=False)
    assert r.status_code == 422 and "at least 12" in r.text
    form["new_password"] = form["confirm_password"] = OWN
    r = client.post("/password", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/patients"
    assert client.get("/patients", follow_redirects=False).status_code == 200
