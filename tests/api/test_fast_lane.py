"""The timeline GET's fast lane (issue 16): the common case answered before FastAPI's routing,
with one statement and a group commit of its audit event; everything else exactly as the
declared route answers it. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bontrack.services import audit, timeline
from bontrack.store.audit_chain import Verdict
from bontrack.store.uow import Database
from tests.api.test_sessions import age_tokens


def _timeline_reads(url: str, patient_id: int) -> list[tuple[int | None, str]]:
    """(user id, outcome) of every timeline read of the patient, in insertion order."""
    engine = sa.create_engine(url)
    with engine.connect() as c:
        rows = c.execute(sa.text(
            "SELECT user_id, outcome FROM audit_events WHERE entity = 'timeline' "
            "AND action = 'read' AND patient_id = :p ORDER BY id"), {"p": patient_id}).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


def _verify(url: str) -> Verdict:
    db = Database.at(url)
    try:
        with db.unit_of_work() as uow:
            audit.chain_trail(uow.session)
            uow.commit()
        with db.snapshot() as uow:
            return audit.verify_trail(uow.session)
    finally:
        db.dispose()


def _count_lane_answers(app) -> list[str]:
    """The paths the app's lanes answer from here on (each lane's handler wrapped)."""
    from dataclasses import replace

    answered: list[str] = []

    def counting(handler):
        async def counted(app, scope, *groups):
            body = await handler(app, scope, *groups)
            if body is not None:
                answered.append(scope["path"])
            return body
        return counted

    app.lanes = tuple(replace(lane, handler=counting(lane.handler)) for lane in app.lanes)
    return answered


def _lane(api, who: str, patient_id: int) -> bytes | None:
    """What the lane's service decides for this user and patient (None: the route answers)."""
    db = Database.at(api.url)
    try:
        found = asyncio.run(timeline.cached_timeline(db, api.tokens[who], patient_id))
    finally:
        db.dispose()
    return None if found is None else found[0]


def test_a_cached_timeline_is_answered_by_the_lane_and_each_read_is_audited(api):
    p = api.ids["p1"]
    path = f"/api/v1/patients/{p}/timeline"
    assert _lane(api, "doc", p) is None  # nothing built yet: the route answers
    first = api.get("doc", path)
    assert first.status_code == 200, first.text
    assert _lane(api, "doc", p) == first.content  # now the lane holds the answer
    for _ in range(5):
        again = api.get("doc", path)
        assert again.status_code == 200
        assert again.content == first.content
        assert again.headers == first.headers  # the declared route's own headers
    reads = _timeline_reads(api.url, p)
    assert reads == [(api.ids["doc"], "ok")] * 6  # one committed event per answer
    verdict = _verify(api.url)
    assert verdict.intact, verdict.reason


def test_the_lane_answers_inside_the_security_headers(api):
    """On the whole application (API and pages) the lane's answers carry the same security
    headers as the route's."""
    from fastapi.testclient import TestClient

    from bontrack.app import create_app

    app = create_app(api.url)
    answered = _count_lane_answers(app)
    path = f"/api/v1/patients/{api.ids['p1']}/timeline"
    with TestClient(app) as client:
        first = client.get(path, headers=api.h("doc"))
        second = client.get(path, headers=api.h("doc"))
    app.state.bontrack.db.dispose()
    assert answered == [path]  # the route answered the first, the lane the second
    assert first.status_code == second.status_code == 200
    assert second.headers["cache-control"] == "no-store"
    assert second.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in second.headers["content-security-policy"]
    assert second.headers == first.headers


def test_a_change_to_the_record_is_never_answered_from_the_old_body(api):
    p = api.ids["p1"]
    path = f"/api/v1/patients/{p}/timeline"
    before = api.get("doc", path).json()
    r = api.post("doc", f"/api/v1/patients/{p}/side-effects", json={
        "onset": "2026-03-01", "term": "dry mouth", "severity": "mild"})
    assert r.status_code == 201, r.text
    after = api.get("doc", path).json()
    assert len(after["events"]) == len(before["events"]) + 1
    assert api.get("doc", path).json() == after
    assert _verify(api.url).intact


def test_the_lane_gives_way_to_every_refusal_of_the_route(api):
    p, other = api.ids["p1"], api.ids["pb"]
    path = f"/api/v1/patients/{p}/timeline"
    assert api.get("doc", path).status_code == 200  # the body is cached from here on
    assert api.get("doc_b", path).status_code == 404  # another clinic's patient
    assert _lane(api, "doc_b", p) is None
    assert api.get("pat2", path).status_code == 403  # another patient's record
    assert api.get("pat", path).status_code == 200  # the patient's own record
    assert api.client.get(path).status_code == 401  # no token
    assert api.client.get(path, headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.get("doc", f"/api/v1/patients/{other}/timeline").status_code == 404
    for odd in ("2147483648", "99999999999999999999", "1e3", "x"):
        assert api.get("doc", f"/api/v1/patients/{odd}/timeline").status_code == 422, odd
    for odd in ("0", "-1", f"0{p}", f"+{p}", f"{p}.0"):  # ids the lane leaves to the route
        assert api.get("doc", f"/api/v1/patients/{odd}/timeline").status_code in (200, 404)
    assert api.get("doc", "/api/v1/patients/987654/timeline").status_code == 404
    # the five reads answered (doc, pat and the three ids the route read as p) were audited
    assert [o for _, o in _timeline_reads(api.url, p)] == ["ok"] * 5
    age_tokens(api.url, revoked=True)
    assert _lane(api, "doc", p) is None
    assert api.get("doc", path).status_code == 401


def test_a_token_due_to_have_its_use_recorded_takes_the_route(api):
    p = api.ids["p1"]
    path = f"/api/v1/patients/{p}/timeline"
    assert api.get("doc", path).status_code == 200
    old = datetime.now(UTC) - timedelta(minutes=5)
    age_tokens(api.url, last_used_at=old)
    assert _lane(api, "doc", p) is None  # the lane never writes the token's use
    assert api.get("doc", path).status_code == 200
    assert _lane(api, "doc", p) is not None  # recorded by the route: the lane answers again
    age_tokens(api.url, last_used_at=datetime.now(UTC) - timedelta(minutes=31))
    assert api.get("doc", path).status_code == 401  # idle: refused, not answered from cache


def test_a_get_that_sends_a_body_is_left_to_the_app(api):
    """The lane answers before every middleware (issue 16): a GET that declares a body goes
    to the app, whose body limit refuses it when it is too long."""
    from bontrack.api.app import MAX_BODY
    from bontrack.server.fast_lane import _sends_body

    p = api.ids["p1"]
    path = f"/api/v1/patients/{p}/timeline"
    assert api.get("doc", path).status_code == 200
    assert _lane(api, "doc", p) is not None  # the lane would answer a GET without a body
    big = api.client.request("GET", path, headers=api.h("doc"), content=b"x" * (MAX_BODY + 1))
    assert big.status_code == 413, big.text
    for odd in (b"", b" 0", b"0x0", b"-0"):  # not plainly "no body": the app decides
        scope = {"headers": [(b"content-length", odd)]}
        assert _sends_body(scope), odd
    assert not _sends_body({"headers": [(b"content-length", b"0")]})
    assert not _sends_body({"headers": [(b"content-length", b"00")]})
    assert _sends_body({"headers": [(b"transfer-encoding", b"chunked")]})
    assert big.headers["content-type"] == "application/problem+json"
    small = api.client.request("GET", path, headers=api.h("doc"), content=b"{}")
    assert small.status_code == 200
    assert [o for _, o in _timeline_reads(api.url, p)] == ["ok"] * 2


def test_over_https_the_lanes_answer_carries_hsts_as_the_routes_does(api):
    from fastapi.testclient import TestClient

    from bontrack.app import create_app

    app = create_app(api.url)
    answered = _count_lane_answers(app)
    p = api.ids["p1"]
    path = f"/api/v1/patients/{p}/timeline"
    with TestClient(app, base_url="https://testserver") as client:
        first = client.get(path, headers=api.h("doc"))  # the route (nothing built yet)
        assert answered == []
        second = client.get(path, headers=api.h("doc"))
    app.state.bontrack.db.dispose()
    assert answered == [path]  # the lane answered the second
    assert first.status_code == second.status_code == 200
    assert second.headers["strict-transport-security"].startswith("max-age=")
    assert second.headers == first.headers


def test_a_middleware_no_lane_accounts_for_turns_the_lanes_off(api):
    """The lanes pass by the app's middlewares; one added without saying what it does to an
    answer is never skipped: the app answers everything (issue 16)."""
    from fastapi.testclient import TestClient

    from bontrack.app import create_app

    class Stamp:  # a pure ASGI middleware that marks every answer
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            async def marked(message):
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message["headers"], (b"x-seen", b"1")]}
                await send(message)

            await self.app(scope, receive, marked if scope["type"] == "http" else send)

    app = create_app(api.url)
    app.add_middleware(Stamp)
    answered = _count_lane_answers(app)
    p = api.ids["p1"]
    path = f"/api/v1/patients/{p}/timeline"
    with TestClient(app) as client:
        first = client.get(path, headers=api.h("doc"))
        assert _lane(api, "doc", p) is not None  # a lane could answer: the body is built
        second = client.get(path, headers=api.h("doc"))
    app.state.bontrack.db.dispose()
    assert first.status_code == second.status_code == 200
    assert first.headers["x-seen"] == second.headers["x-seen"] == "1"
    assert answered == []  # the app answered both


def test_after_a_minute_the_lane_answers_again_once_the_route_recorded_the_use(
        api, monkeypatch):
    """A token's use is recorded at most once a minute, by the route; the lane leaves such
    a request to it. Once recorded, the lane answers again: on PostgreSQL the row it kept
    from before is dropped (``Database.forget``), else it would refuse from then on."""
    from fastapi.testclient import TestClient

    from bontrack.api.app import create_app
    from bontrack.services import accounts

    app = create_app(api.url)
    answered = _count_lane_answers(app)
    path = f"/api/v1/patients/{api.ids['p1']}/timeline"
    with TestClient(app) as client:
        for _ in range(3):
            assert client.get(path, headers=api.h("doc")).status_code == 200
        assert len(answered) == 2  # the route built the answer, the lane gave the rest
        later = datetime.now(UTC) + timedelta(minutes=2)
        monkeypatch.setattr(accounts, "_now", lambda: later)
        assert client.get(path, headers=api.h("doc")).status_code == 200
        assert len(answered) == 2  # the route answered, and recorded the token's use
        for _ in range(3):
            assert client.get(path, headers=api.h("doc")).status_code == 200
    app.state.bontrack.db.dispose()
    assert len(answered) == 5, answered  # the lane again, from a row read anew
    assert _verify(api.url).intact
