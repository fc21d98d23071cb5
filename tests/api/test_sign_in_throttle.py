"""Issue 15 item 7: failed sign-ins slow the guesser, never lock the real user out; every
refused password step answers alike; X-Forwarded-For counts only from trusted proxies.
On SQLite and PostgreSQL (the ``api`` fixture); the template signed every user in from the
test client's address, which is therefore known to each account."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bontrack.api.app import create_app
from bontrack.services import accounts

PASSWORD = "correct horse battery"
TOKEN = "/api/v1/auth/token"


def attempt(client: TestClient, username: str, password: str, **headers: str):
    return client.post(TOKEN, json={"username": username, "password": password},
                       headers=headers)


def audited(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT detail FROM audit_events WHERE action = 'sign_in' "
                                 "AND outcome = 'denied' ORDER BY id")).scalars().all()
    engine.dispose()
    return list(rows)


def test_an_attacker_elsewhere_cannot_lock_the_real_user_out(api):
    app = create_app(api.url)
    with TestClient(app, client=("203.0.113.9", 5000)) as attacker:
        for _ in range(40):
            assert attempt(attacker, "doc", "guess guess guess").status_code == 401
    engine = sa.create_engine(api.url)
    with engine.connect() as c:  # the attacker's own keys wait; the account has none
        keys = dict(c.execute(sa.text("SELECT key, failures FROM sign_in_throttle WHERE "
                                      "blocked_until IS NOT NULL")).all())
    engine.dispose()
    assert keys.get("pair:doc|203.0.113.9", 0) >= 4
    # the real user, from the address they signed in from before, gets in at once
    assert attempt(api.client, "doc", PASSWORD).status_code == 200
    app.state.bontrack.db.dispose()


def test_rotating_addresses_meet_a_small_bounded_per_account_wait(api, monkeypatch):
    # the clock stands still, so the 1-second wait cannot run out on a slow machine
    still = datetime.now(UTC)
    monkeypatch.setattr(accounts, "_now", lambda: still)
    app = create_app(api.url)
    for i in range(12):  # a botnet: each address tries once
        with TestClient(app, client=(f"192.0.2.{i + 1}", 5000)) as bot:
            assert attempt(bot, "doc2", "guess guess guess").status_code == 401
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT failures, blocked_until FROM sign_in_throttle "
                                "WHERE key = 'acct:doc2'")).one()
        waits = c.execute(sa.text("SELECT count(*) FROM sign_in_throttle WHERE key LIKE "
                                  "'pair:doc2|%' AND blocked_until IS NOT NULL")).scalar_one()
    engine.dispose()
    # 10 counted; the 11th and 12th came while the account key waited: refused, uncounted
    assert row.failures == 10 and row.blocked_until is not None and waits == 0
    with TestClient(app, client=("192.0.2.200", 5000)) as newcomer:
        assert attempt(newcomer, "doc2", PASSWORD).status_code == 401  # held (≤ 60 s)
    assert attempt(api.client, "doc2", PASSWORD).status_code == 200  # known address
    assert any("throttled (account)" in d for d in audited(api.url))
    app.state.bontrack.db.dispose()


def test_unknown_wrong_disabled_and_throttled_answer_alike_and_audit_the_truth(
        api, monkeypatch):
    still = datetime.now(UTC)  # a standing clock: the waits do not run out mid-test
    monkeypatch.setattr(accounts, "_now", lambda: still)
    app = create_app(api.url)
    with TestClient(app) as c:
        with app.state.bontrack.db.unit_of_work() as uow:
            accounts.disable_user(uow, "doc2")
        answers = [attempt(c, "nobody.here", "whatever it is"),
                   attempt(c, "nurse", "not the password"),
                   attempt(c, "doc2", PASSWORD)]
        for _ in range(30):
            attempt(c, "doc", "guess guess guess")
        answers.append(attempt(c, "doc", PASSWORD))
    bodies = [(r.status_code, r.json()["detail"], r.json().get("field")) for r in answers]
    assert len(set(bodies)) == 1, bodies
    assert bodies[0][0] == 401 and bodies[0][1] == accounts.FAILED
    details = " | ".join(audited(api.url))
    for reason in ("unknown username 'nobody.here'", "wrong password", "account disabled",
                   "throttled"):
        assert reason in details
    app.state.bontrack.db.dispose()


def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(api, monkeypatch):
    # the clock stands still: on a loaded machine the address's wait ran out before the
    # 26th attempt and the right password was let in (CI, PostgreSQL, two workers)
    still = datetime.now(UTC)
    monkeypatch.setattr(accounts, "_now", lambda: still)
    app = create_app(api.url)
    with TestClient(app, client=("198.51.100.77", 5000)) as c:
        for i in range(25):  # rotating the header gains nothing: one address, throttled
            attempt(c, "nurse", "guess guess guess", **{"X-Forwarded-For": f"10.1.1.{i}"})
        r = attempt(c, "nurse", PASSWORD, **{"X-Forwarded-For": "10.9.9.9"})
        assert r.status_code == 401
    monkeypatch.setenv("BONTRACK_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    with TestClient(app, client=("10.0.0.2", 5000)) as proxy:
        attempt(proxy, "nurse", "wrong again", **{"X-Forwarded-For": "9.9.9.9, 203.0.113.5"})
    details = audited(api.url)
    assert "address=198.51.100.77" in details[0]
    assert details[-1].endswith("address=203.0.113.5")
    app.state.bontrack.db.dispose()
