"""A real server process: records survive a restart, and SIGKILL in the middle of a stream
of writes never leaves a half-saved cycle nor loses a write that was answered 2xx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import PASSWORD, seed, uls_cycle
from tests.reliability.harness import chain_now, new_patient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str) -> None:
        self.url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from bontrack.cli.main import run; run()", "serve",
             "--db", self.url, "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120  # a loaded CI machine starts Python slowly
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        self.proc.wait(timeout=30)

    def token(self, who: str) -> dict[str, str]:
        r = httpx.post(f"{self.base}/api/v1/auth/token",
                       json={"username": who, "password": PASSWORD}, timeout=30)
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def server(db_url):
    ids = seed(db_url)
    srv = Server(db_url)
    srv.start()
    yield srv, ids
    if srv.proc and srv.proc.poll() is None:
        srv.kill(signal.SIGTERM)


def test_records_survive_a_server_restart(server):
    srv, ids = server
    h = srv.token("doc")
    r = httpx.post(f"{srv.base}/api/v1/patients/{ids['p1']}/cycles", json=uls_cycle(),
                   headers=h, timeout=30)
    assert r.status_code == 201
    before = r.json()
    srv.kill(signal.SIGTERM)
    srv.start()
    after = httpx.get(f"{srv.base}/api/v1/cycles/{before['id']}", headers=h, timeout=30).json()
    assert {k: after[k] for k in before} == before


def test_sigkill_during_a_stream_of_cycle_writes_loses_nothing_acknowledged(server):
    srv, _ = server
    h = srv.token("doc")
    acknowledged: list[int] = []
    kills = 3
    rounds: list[int] = []  # writes acknowledged in each round

    def stream(patient_id: int) -> None:
        k = 0
        with httpx.Client(timeout=10) as client:
            while True:
                # 100 days apart from 1950 on: dates stay in the past (a cycle dated after
                # today is refused) for far more writes than a round makes
                day = date(1950, 1, 1) + timedelta(days=100 * k)
                try:
                    r = client.post(f"{srv.base}/api/v1/patients/{patient_id}/cycles",
                                    json=uls_cycle(date=day.isoformat()), headers=h)
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    acknowledged.append(r.json()["id"])
                k += 1

    for n in range(kills):
        # each round writes for its own patient, so its dates never meet another round's
        patient = new_patient(srv.base, h, f"K-{n}")
        before = len(acknowledged)
        t = threading.Thread(target=stream, args=(patient,))
        t.start()
        # kill in the middle of the stream: once it is acknowledging writes (a loaded
        # machine may take seconds for the first), then a little later each round
        deadline = time.monotonic() + 60
        while len(acknowledged) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3 + 0.37 * n)
        srv.kill(signal.SIGKILL)
        t.join(timeout=30)
        rounds.append(len(acknowledged) - before)
        srv.start()
    assert all(rounds), f"a round had no write acknowledged before its kill: {rounds}"
    chain_now(srv.url)
    engine = sa.create_engine(srv.url)
    with engine.connect() as c:
        stored = {r[0] for r in c.execute(sa.text("SELECT id FROM cycles"))}
        half = c.execute(sa.text(
            "SELECT count(*) FROM cycles c WHERE NOT EXISTS "
            "(SELECT 1 FROM injections i WHERE i.cycle_id = c.id) OR NOT EXISTS "
            "(SELECT 1 FROM audit_events a WHERE a.entity = 'cycle' AND a.action = 'create' "
            "AND a.entity_id = c.id)")).scalar()
        from bontrack.store.audit_chain import chained_events, verify
        from bontrack.store.models import AuditEvent

        t = AuditEvent.__table__
        chain = verify(c.execute(chained_events()))
    engine.dispose()
    assert set(acknowledged) <= stored
    assert half == 0
    assert chain.intact, chain.reason


def test_concurrent_writers_keep_one_unbroken_audit_chain(server):
    srv, ids = server
    h = srv.token("doc")

    def writer(k: int) -> None:
        with httpx.Client(timeout=30) as client:
            for j in range(8):
                client.post(f"{srv.base}/api/v1/patients", headers=h, json={
                    "mrn": f"C-{k}-{j}", "display_name": f"Concurrent {k} {j}",
                    "birth_date": "1980-01-01"})
                client.get(f"{srv.base}/api/v1/patients/{ids['p1']}/timeline", headers=h)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from bontrack.store.audit_chain import chained_events, verify

    chain_now(srv.url)
    engine = sa.create_engine(srv.url)
    with engine.connect() as c:
        chain = verify(c.execute(chained_events()))
        created = c.execute(sa.text("SELECT count(*) FROM patients WHERE mrn LIKE 'C-%'")
                            ).scalar()
    engine.dispose()
    assert created == 48
    assert chain.intact, chain.reason
