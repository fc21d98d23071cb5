"""Issue 6, item 4: SIGKILL at random points during a sustained stream of cycle writes from
several concurrent clients, 20 times per database (SQLite and PostgreSQL), never loses a
write answered 2xx and never leaves a half-saved cycle.

    PYTHONPATH=src pytest -s tests/reliability/test_sigkill_loop.py            # SQLite
    PYTHONPATH=src pytest -s tests/reliability/test_sigkill_loop_postgresql.py # PostgreSQL

``BONTRACK_KILLS`` changes the number of kills (default 20), ``BONTRACK_KILL_SEED`` the
random seed of the kill points (printed)."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import seed, uls_cycle
from tests.conftest import fresh_database
from tests.reliability.harness import ServerProcess, integrity, new_patient

KILLS = int(os.environ.get("BONTRACK_KILLS", "20"))
WRITERS = 4
PER_PATIENT = 120  # cycles 90 days apart from 1950: a writer moves on to a new patient
PATIENTS_PER_WRITER = 5


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: dict[int, dict[str, Any]] = field(default_factory=dict)
    in_doubt: int = 0  # the connection broke before an answer: committed or not
    unexpected: list[str] = field(default_factory=list)  # any answer other than 201


def writer(srv: ServerProcess, headers: dict[str, str], patients: list[int], counter: list[int],
           stop: threading.Event, tally: Tally) -> None:
    """Record cycles 90 days apart until the server dies (a new patient every PER_PATIENT)."""
    with httpx.Client(base_url=srv.base, headers=headers, timeout=30) as client:
        while not stop.is_set():
            which, step = divmod(counter[0], PER_PATIENT)
            patient_id = patients[which]
            day = date(1950, 1, 1) + timedelta(days=90 * step)
            counter[0] += 1  # never reuse a date: an unanswered write may have committed
            try:
                r = client.post(f"/api/v1/patients/{patient_id}/cycles",
                                json=uls_cycle(date=day.isoformat()))
            except httpx.HTTPError:
                with tally.lock:
                    tally.in_doubt += 1
                return
            with tally.lock:
                if r.status_code == 201:
                    body = r.json()
                    tally.acknowledged[body["id"]] = body
                else:
                    tally.unexpected.append(f"{r.status_code} {r.text[:300]}")


@pytest.fixture
def db_url(tmp_path):
    """SQLite here; ``test_sigkill_loop_postgresql.py`` runs the same test on PostgreSQL (two
    files, so the two databases' loops can run on both workers at once: tests/conftest.py)."""
    url, drop = fresh_database("sqlite", tmp_path)
    yield url
    drop()


def test_sigkill_at_random_points_loses_no_acknowledged_write(db_url, tmp_path):
    seed(db_url)
    srv = ServerProcess(db_url, tmp_path / "server.log")
    rng_seed = int(os.environ.get("BONTRACK_KILL_SEED", str(time.time_ns() % 10**6)))
    rng = random.Random(rng_seed)
    tally = Tally()
    t_start = time.monotonic()
    startup: list[float] = []
    streaming = 0  # kills that came after the round's writes were being acknowledged
    try:
        startup.append(srv.start())
        h = srv.token("doc")
        patients = [[new_patient(srv.base, h, f"K-{k}-{j}") for j in range(PATIENTS_PER_WRITER)]
                    for k in range(WRITERS)]
        counters = [[0] for _ in patients]
        for _ in range(KILLS):
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(srv, h, pid, n, stop, tally))
                       for pid, n in zip(patients, counters, strict=True)]
            acked_before = len(tally.acknowledged)
            for t in threads:
                t.start()
            # kill while writes are streaming: after this round's first acknowledged write
            # (a loaded machine may take seconds for it), at a random point
            deadline = time.monotonic() + 60
            while len(tally.acknowledged) == acked_before and time.monotonic() < deadline:
                time.sleep(0.02)
            streaming += len(tally.acknowledged) > acked_before
            time.sleep(rng.uniform(0.0, 0.8))
            srv.kill()
            stop.set()
            for t in threads:
                t.join(timeout=60)
            startup.append(srv.start())
        # the acknowledged cycles read back through the API after the last restart
        with httpx.Client(base_url=srv.base, headers=h, timeout=30) as client:
            sample = list(tally.acknowledged)[::10]
            for cid in sample:
                got = client.get(f"/api/v1/cycles/{cid}").json()
                sent = tally.acknowledged[cid]
                assert {k: got[k] for k in sent} == sent
    finally:
        srv.stop()
    found = integrity(db_url)
    engine = sa.create_engine(db_url)
    with engine.connect() as c:
        stored = {r.id: (str(r.date), float(r.total_units)) for r in c.execute(sa.text(
            "SELECT id, date, total_units FROM cycles"))}
    engine.dispose()
    ack = tally.acknowledged
    lost = [cid for cid in ack if cid not in stored]
    changed = [cid for cid in ack if cid in stored and
               stored[cid] != (ack[cid]["date"], float(ack[cid]["total_units"]))]
    incomplete = [cid for cid in ack if cid in stored and found["parts"][cid] != (
        len(ack[cid]["injections"]), len(ack[cid]["vials"]), len(ack[cid]["findings"]))]
    expected_parts = {(len(b["injections"]), len(b["vials"]), len(b["findings"]))
                      for b in ack.values()}
    unanswered = [cid for cid in stored if cid not in ack]
    unanswered_bad = [cid for cid in unanswered if found["parts"][cid] not in expected_parts]
    half_saved = (found["without_injections"] + found["without_vials"] + found["without_audit"]
                  + found["orphan_parts"] + len(incomplete) + len(unanswered_bad))
    kind = db_url.split(":")[0].split("+")[0]
    print(f"\n[{kind}] kills {KILLS} ({streaming} during acknowledged writes; seed "
          f"{rng_seed}), {WRITERS} writer clients, "
          f"{time.monotonic() - t_start:.0f} s; restarts took {min(startup):.1f}-"
          f"{max(startup):.1f} s")
    print(f"[{kind}] acknowledged 2xx: {len(ack)}, found: {len(ack) - len(lost)}, lost: "
          f"{len(lost)}, changed: {len(changed)}; in doubt (connection cut): {tally.in_doubt}, "
          f"of them committed: {len(unanswered)}; cycles stored: {found['cycles']}; "
          f"half-saved: {half_saved}; audit chain: {found['chain_reason']}")
    assert not tally.unexpected, tally.unexpected[:5]
    assert len(ack) >= KILLS, "too few writes were acknowledged to mean anything"
    assert not lost and not changed
    assert half_saved == 0, found
    assert len(unanswered) <= tally.in_doubt
    assert found["chain_intact"], found["chain_reason"]
    assert srv.starts == KILLS + 1
    assert streaming == KILLS
