"""TOTP MFA through the API (BONTRACK_MFA_REQUIRED on): a clinician who has not enrolled is
told where to; an enrolled one must send totp or recovery_code (401 naming the field
otherwise); codes are single use; an administrator's reset removes the second factor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bontrack.services import accounts, mfa

PASSWORD = "correct horse battery"
TOKEN = "/api/v1/auth/token"


@pytest.fixture
def required(monkeypatch):
    monkeypatch.setenv("BONTRACK_MFA_REQUIRED", "on")


def enrol(api, username: str) -> tuple[str, list[str]]:
    """Enrol through the service the web pages use (password step, set-up, first code)."""
    db = api.client.app.state.bontrack.db
    with db.unit_of_work() as uow:
        pending, _, stage = accounts.start_session(uow, username, PASSWORD, "testclient", None)
    assert stage == "enrol"
    with db.unit_of_work() as uow:
        _, secret, uri = accounts.enrolment(uow, pending)
    assert uri.startswith("otpauth://totp/") and "issuer=bontrack" in uri
    with db.unit_of_work() as uow:
        _, _, codes = accounts.confirm_enrolment(
            uow, pending, mfa.current_code(secret, datetime.now(UTC)), "testclient")
    return secret, codes


def test_a_clinician_who_must_enrol_is_told_where(api, required):
    r = api.client.post(TOKEN, json={"username": "doc", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["type"] == "/problems/mfa-enrolment-required"
    assert r.json()["enrol"] == "/login" and "/login" in r.json()["detail"]
    nurse = api.client.post(TOKEN, json={"username": "nurse", "password": PASSWORD})
    assert nurse.status_code == 200  # nurses and patients: optional


def test_an_enrolled_clinician_signs_in_with_a_code_once(api, required):
    secret, codes = enrol(api, "doc")
    r = api.client.post(TOKEN, json={"username": "doc", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["field"] == "totp" and "totp" in r.json()["detail"]
    nxt = mfa.current_code(secret, datetime.now(UTC) + timedelta(seconds=30))
    ok = api.client.post(TOKEN, json={"username": "doc", "password": PASSWORD, "totp": nxt})
    assert ok.status_code == 200
    again = api.client.post(TOKEN, json={"username": "doc", "password": PASSWORD, "totp": nxt})
    assert again.status_code == 401 and again.json()["field"] == "totp"  # replay refused
    body = {"username": "doc", "password": PASSWORD, "recovery_code": codes[3].upper()}
    assert api.client.post(TOKEN, json=body).status_code == 200
    r = api.client.post(TOKEN, json=body)
    assert r.status_code == 401 and r.json()["field"] == "recovery_code"  # spent
    wrong = api.client.post(TOKEN, json={"username": "doc", "password": "not it at all",
                                         "totp": nxt})
    assert wrong.json()["detail"] == accounts.FAILED  # a wrong password says nothing more


def test_a_pending_token_opens_nothing(api, required):
    db = api.client.app.state.bontrack.db
    with db.unit_of_work() as uow:
        pending, _, _ = accounts.start_session(uow, "doc", PASSWORD, "testclient", None)
    r = api.client.get("/api/v1/patients", headers={"Authorization": f"Bearer {pending}"})
    assert r.status_code == 401


def test_an_admin_resets_a_password_and_the_second_factor(api, required):
    enrol(api, "doc2")
    new = "plum lantern seventy gravel"
    r = api.post("admin", "/api/v1/users/doc2/password",
                 {"password": new, "reset_second_factor": True})
    assert r.status_code == 204
    r = api.client.post(TOKEN, json={"username": "doc2", "password": new})
    assert r.status_code == 403 and r.json()["type"] == "/problems/password-change-required"
    assert api.post("doc", "/api/v1/users/doc2/password", {"password": new}).status_code == 403
    assert api.post("admin", "/api/v1/users/doc_b/password",
                    {"password": new}).status_code == 404  # another clinic
