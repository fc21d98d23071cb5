"""Issue 16 item 10: two real server processes (``bontrack serve``: uvicorn, the app factory)
on one database behave as one server. Nothing a request depends on lives in one process:
sign-in throttling counts failures made through either, a write through one is seen through
the other (the timeline cache is keyed by the record's version, read in the request's own
transaction), a sign-out through one ends the session on both, and an export started on one
is polled, downloaded and cancelled through the other. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import PASSWORD, seed
from tests.conftest import fresh_database
from tests.ops.test_health_and_ready import Served

V1 = "/api/v1"


@pytest.fixture(params=["sqlite", "postgresql"])
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Served, Served, str,
                                                                          dict[str, int]]]:
    url, drop = fresh_database(request.param, tmp_path)
    ids = seed(url)
    env = {**os.environ, "BONTRACK_EXPORT_DIR": str(tmp_path / "shared-exports"),
           "BONTRACK_MFA_REQUIRED": "off"}
    a = Served(url, "--no-migrate", env=env)
    try:
        b = Served(url, "--no-migrate", env=env)
    except BaseException:
        a.stop()
        raise
    try:
        yield a, b, url, ids
    finally:
        a.stop()
        b.stop()
        drop()


def sign_in(server: Served, who: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{server.base}{V1}/auth/token",
                      json={"username": who, "password": password}, timeout=60)


def bearer(server: Served, who: str) -> dict[str, str]:
    r = sign_in(server, who)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_sign_in_throttling_counts_failures_made_through_either_server(two):
    a, b, url, _ = two
    for server in (a, b, a):  # the third failure makes the pair wait (1 s)
        third = time.monotonic()  # the wait starts after this, when the server records it
        assert sign_in(server, "nurse", "wrong wrong wrong").status_code == 401
    engine = sa.create_engine(url)
    with engine.connect() as c:
        failures = c.execute(sa.text("SELECT failures FROM sign_in_throttle WHERE key = "
                                     "'pair:nurse|127.0.0.1'")).scalar_one()
    engine.dispose()
    assert failures == 3
    # the right password is refused through the other server while the pair waits (unless
    # this machine took longer than the wait itself to send the attempt)
    refused = sign_in(b, "nurse").status_code == 401
    assert refused or time.monotonic() - third > 1
    time.sleep(1.5)
    assert sign_in(b, "nurse").status_code == 200


def test_a_write_through_one_server_is_seen_through_the_other(two):
    a, b, _, ids = two
    doc = bearer(a, "doc")
    timeline = f"{V1}/patients/{ids['p1']}/timeline"
    before = httpx.get(f"{b.base}{timeline}", headers=doc, timeout=30)
    assert before.status_code == 200 and "81.5" not in before.text  # B's cache is warm now
    r = httpx.post(f"{a.base}{V1}/patients/{ids['p1']}/weights", headers=doc, timeout=30,
                   json={"measured_on": "2026-02-01", "weight_kg": 81.5})
    assert r.status_code == 201, r.text
    after = httpx.get(f"{b.base}{timeline}", headers=doc, timeout=30)
    assert after.status_code == 200 and "81.5" in after.text


def test_a_sign_out_through_one_server_ends_the_session_on_both(two):
    a, b, _, ids = two
    doc = bearer(a, "doc")
    patient = f"{V1}/patients/{ids['p1']}"
    timeline = f"{patient}/timeline"
    assert httpx.get(f"{b.base}{patient}", headers=doc, timeout=30).status_code == 200
    for _ in range(3):  # B's fast lane has built the answer and looked the token up (kept)
        assert httpx.get(f"{b.base}{timeline}", headers=doc, timeout=30).status_code == 200
    assert httpx.post(f"{a.base}{V1}/auth/logout", headers=doc, timeout=30).status_code == 204
    assert httpx.get(f"{b.base}{patient}", headers=doc, timeout=30).status_code == 401
    assert httpx.get(f"{b.base}{timeline}", headers=doc, timeout=30).status_code == 401


def test_an_export_started_on_one_server_is_polled_downloaded_and_cancelled_on_the_other(two):
    a, b, _, _ = two
    doc, nurse = bearer(a, "doc"), bearer(b, "nurse")
    r = httpx.get(f"{a.base}/fhir/$export", headers=doc, timeout=30,
                  params={"_type": "Patient,Observation"})
    assert r.status_code == 202, r.text
    status = r.headers["Content-Location"].split("/fhir/", 1)[1]
    deadline = time.monotonic() + 120
    while (s := httpx.get(f"{b.base}/fhir/{status}", headers=doc, timeout=30)
           ).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert s.status_code == 200, s.text
    outputs = {o["type"]: o["url"] for o in s.json()["output"]}
    path = outputs["Patient"].split("/fhir/", 1)[1]
    f = httpx.get(f"{b.base}/fhir/{path}", headers=doc, timeout=30)
    assert f.status_code == 200 and "Alex Synthetic" in f.text
    # issue 15's rules hold on the other server too
    assert httpx.get(f"{b.base}/fhir/{status}", headers=nurse, timeout=30).status_code == 404
    assert httpx.get(f"{b.base}/fhir/{path}", headers=nurse, timeout=30).status_code == 404
    assert httpx.delete(f"{b.base}/fhir/{status}", headers=doc, timeout=30).status_code == 202
    assert httpx.get(f"{a.base}/fhir/{status}", headers=doc, timeout=30).status_code == 404
    assert httpx.get(f"{a.base}/fhir/{path}", headers=doc, timeout=30).status_code == 404
