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


def test_web_sign_in_ends_the_session_the_browser_had(api):
    """Session rotation: signing in again (as anyone) revokes the cookie's previous token."""
    from fastapi.testclient import TestClient

    from bontrack.app import create_app

    app = create_app(api.url)
    with TestClient(app) as web:
        web.get("/login")
        for who in ("doc", "nurse"):
            web.post("/login", data={"username": who, "password": "correct horse battery",
                                     "csrf": web.cookies.get("bt_csrf")},
                     follow_redirects=False)
            if who == "doc":
                first = web.cookies.get("bt_session")
        second = web.cookies.get("bt_session")
        assert first and second and first != second
        old = api.client.get("/api/v1/patients", headers={"Authorization": f"Bearer {first}"})
        assert old.status_code == 401
        new = api.client.get("/api/v1/patients", headers={"Authorization": f"Bearer {second}"})
        assert new.status_code == 200
    app.state.bontrack.db.dispose()


def test_parallel_wrong_passwords_all_count_towards_the_throttle(api):
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from bontrack.api.app import create_app

    app = create_app(api.url)

    def wrong(_: int) -> int:
        with TestClient(app, client=("198.51.100.4", 4000)) as c:
            return c.post("/api/v1/auth/token", json={"username": "doc2",
                                                      "password": "not it at all"}).status_code

    with ThreadPoolExecutor(3) as pool:  # within the free failures: each one is counted
        codes = list(pool.map(wrong, range(3)))
    assert codes == [401] * 3
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        counted = c.execute(sa.text("SELECT failures FROM sign_in_throttle WHERE key = "
                                    "'pair:doc2|198.51.100.4'")).scalar_one()
    engine.dispose()
    assert counted == 3
    app.state.bontrack.db.dispose()


def test_refused_sign_ins_are_audited_with_reason_and_address(api):
    api.client.post("/api/v1/auth/token", json={"username": "nobody.here",
                                                "password": "whatever it is"})
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        detail = c.execute(sa.text(
            "SELECT detail FROM audit_events WHERE action = 'sign_in' AND outcome = 'denied' "
            "ORDER BY id DESC LIMIT 1")).scalar_one()
    engine.dispose()
    assert "unknown username 'nobody.here'" in detail and "address=" in detail


def test_a_password_is_exactly_what_was_typed(api):
    r = api.client.post("/api/v1/auth/token", json={"username": "doc",
                                                    "password": " correct horse battery "})
    assert r.status_code == 401


def test_a_database_copied_from_an_old_template_starts_with_live_sessions(tmp_path,
                                                                           tmp_path_factory):
    """The test template is built once per run; a run past the idle limit must not find every
    later copy's sessions ended (CI once failed 48 tests after minute 30 this way)."""
    from fastapi.testclient import TestClient

    from bontrack.api.app import create_app
    from tests.api.conftest import _copy, _template, copy_database

    template_url, _ids, tokens = _template("sqlite", tmp_path_factory)
    (tmp_path / "aged").mkdir()
    aged_url, _ = _copy(template_url, "sqlite", tmp_path / "aged")
    old = datetime.now(UTC) - timedelta(minutes=31)
    age_tokens(aged_url, last_used_at=old, created_at=old)
    url, drop = copy_database(aged_url, "sqlite", tmp_path)
    app = create_app(url)
    with TestClient(app) as client:
        r = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {tokens['doc']}"})
    app.state.bontrack.db.dispose()
    drop()
    assert r.status_code == 200, r.text


def _last_used(url: str) -> datetime:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        value = c.execute(sa.text("SELECT last_used_at FROM api_tokens, users "
                                  "WHERE api_tokens.user_id = users.id "
                                  "AND users.username = 'doc' AND revoked = :no "
                                  "ORDER BY api_tokens.id DESC"), {"no": False}).scalar()
    engine.dispose()
    if isinstance(value, str):  # SQLite hands back the stored text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_the_timeline_records_a_session_s_use_once_a_minute(api):
    """The timeline GET looks the token up inside its own read transaction and writes
    nothing (issue 16); when the last use is over a minute old it must still record the use,
    or an active clinician reading timelines would be signed out as idle."""
    p = api.ids["p1"]
    old = datetime.now(UTC) - timedelta(minutes=5)
    age_tokens(api.url, last_used_at=old)
    r = api.get("doc", f"/api/v1/patients/{p}/timeline")
    assert r.status_code == 200, r.text
    assert _last_used(api.url) > old + timedelta(minutes=4)
    recent = datetime.now(UTC) - timedelta(seconds=20)
    age_tokens(api.url, last_used_at=recent)
    assert api.get("doc", f"/api/v1/patients/{p}/timeline").status_code == 200
    assert abs((_last_used(api.url) - recent).total_seconds()) < 1  # within the minute: no write


def test_the_timeline_refuses_idle_expired_and_revoked_sessions(api):
    p = api.ids["p1"]
    path = f"/api/v1/patients/{p}/timeline"
    old = datetime.now(UTC) - timedelta(minutes=31)
    age_tokens(api.url, last_used_at=old, created_at=old)
    r = api.get("doc", path)
    assert r.status_code == 401 and "without use" in r.json()["detail"]
    age_tokens(api.url, last_used_at=datetime.now(UTC),
               expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert api.get("doc", path).status_code == 401
    age_tokens(api.url, expires_at=datetime.now(UTC) + timedelta(hours=1), revoked=True)
    assert api.get("doc", path).status_code == 401
