"""Sessions end after the absolute lifetime or an idle period; sign-in issues a new token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa


def age_tokens(url: str, **columns: datetime) -> None:
    engine = sa.create_engine(url)
    sets = ", ".join(f"{k} = :{k}" for k in columns)
    with engine.begin() as c:
        c.execute(sa.text(f"UPDATE api_tokens SET {sets}"), columns)
    engine.dispose()


def test_an_idle_session_ends(api):
    assert api.get("doc", "/api/v1/patients").status_code == 200
    old = datetime.now(UTC) - timedelta(minutes=31)
    age_tokens(api.url, last_used_at=old, created_at=old)
    r = api.get("doc", "/api/v1/patients")
    assert r.status_code == 401 and "without use" in r.json()["detail"]


def test_an_expired_session_ends_even_when_used(api):
    age_tokens(api.url, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert api.get("doc", "/api/v1/patients").status_code == 401


def test_each_sign_in_issues_a_new_token(api):
    tokens = {api.client.post("/api/v1/auth/token", json={
        "username": "doc", "password": "correct horse battery"}).json()["access_token"]
        for _ in range(2)}
    assert len(tokens) == 2 and api.tokens["doc"] not in tokens
