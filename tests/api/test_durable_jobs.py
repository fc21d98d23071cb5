"""Issue 16 item 9: export jobs live in the database, not in one process. Any server answers
for any job, a job whose worker died is claimed again (or failed with the reason once it
has killed its worker too often), two workers never run the same job, and a separate
``bontrack worker`` process runs jobs queued by a server. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bontrack.api.app import create_app
from bontrack.fhir.bulk import Jobs
from bontrack.store import jobs as queue
from bontrack.store.uow import Database


def quiet(api, tmp_path) -> Jobs:
    """The app's jobs with its worker thread stopped: the test decides who runs what."""
    jobs: Jobs = api.client.app.state.fhir_jobs
    jobs.stop()
    jobs.run_here = False
    jobs.root = tmp_path / "exports"
    return jobs


def kick_off(api, who: str = "doc") -> tuple[str, str]:
    r = api.get(who, "/fhir/$export", params={"_type": "Patient,Observation"})
    assert r.status_code == 202, r.text
    url = r.headers["Content-Location"].replace("http://testserver", "")
    return url, url.rsplit("/", 1)[1]


def row(api, job_id: str) -> dict:
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        out = dict(c.execute(sa.text("SELECT * FROM jobs WHERE id = :i"), {"i": job_id})
                   .mappings().one())
    engine.dispose()
    return out


def claim_and_die(db: Database, worker: str, minutes_ago: int = 5) -> str:
    """A worker claimed the oldest job ``minutes_ago`` and died: its lease ran out."""
    with db.unit_of_work() as uow:
        job = queue.claim(uow.session, worker, datetime.now(UTC) - timedelta(
            minutes=minutes_ago), ("fhir-export",))
        assert job is not None
        uow.commit()
        return job.id


def test_a_job_whose_worker_died_is_claimed_again_and_finishes(api, tmp_path):
    jobs = quiet(api, tmp_path)
    url, job_id = kick_off(api)
    r = api.get("doc", url)
    assert r.status_code == 202 and r.headers["X-Progress"].startswith("queued")
    assert claim_and_die(jobs.db, "dead-worker") == job_id
    assert api.get("doc", url).status_code == 202  # running, as far as anyone can tell
    assert jobs.run_once("alive") == job_id  # the lease ran out: claimed again
    assert api.get("doc", url).status_code == 200
    stored = row(api, job_id)
    assert stored["state"] == "complete" and stored["attempts"] == 2
    assert stored["worker"] == "alive"
    assert api.get("doc", f"/fhir/$export-files/{job_id}/Patient.ndjson").status_code == 200


def test_a_job_that_keeps_killing_its_worker_fails_with_the_reason(api, tmp_path):
    jobs = quiet(api, tmp_path)
    url, job_id = kick_off(api)
    for n in range(queue.MAX_ATTEMPTS):
        assert claim_and_die(jobs.db, f"dead-{n}", 30 - 5 * n) == job_id
    assert jobs.run_once("alive") is None
    r = api.get("doc", url)
    assert r.status_code == 500 and "stopped 3 times" in r.text


def test_a_running_job_stops_when_cancelled_through_another_server(api, tmp_path):
    jobs = quiet(api, tmp_path)
    url, job_id = kick_off(api)
    other = create_app(api.url)
    other.state.fhir_jobs.run_here = False
    other.state.fhir_jobs.root = jobs.root
    try:
        with TestClient(other) as b:
            headers = api.h("doc")
            assert b.get(url, headers=headers).status_code == 202  # B sees A's job
            stopped = threading.Event()

            def cancel_midway(work):  # the handler sees the cancel at its next batch
                assert b.delete(url, headers=headers).status_code == 202
                try:
                    work.advance(1)
                except Exception:
                    stopped.set()
                    raise
                return {"counts": {}}

            jobs.handlers["fhir-export"] = cancel_midway
            assert jobs.run_once("w1") == job_id
            assert stopped.is_set()
            assert b.get(url, headers=headers).status_code == 404
            assert api.get("doc", url).status_code == 404
            assert row(api, job_id)["state"] == "cancelled"
            assert not (jobs.root / job_id).exists()
    finally:
        other.state.bontrack.db.dispose()


def test_two_workers_never_claim_the_same_job(api, tmp_path):
    jobs = quiet(api, tmp_path)
    queued = {kick_off(api)[1] for _ in range(3)}
    claims: list[str] = []
    barrier = threading.Barrier(6)
    db = Database.at(api.url)

    def worker(n: int) -> None:
        barrier.wait()
        with db.unit_of_work() as uow:
            job = queue.claim(uow.session, f"w{n}", datetime.now(UTC), ("fhir-export",))
            uow.commit()
            if job is not None:
                claims.append(job.id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.dispose()
    assert sorted(claims) == sorted(queued)  # each job once; the rest found nothing
    assert jobs.run_once("late") is None


def test_a_worker_process_runs_the_jobs_a_server_queued(api, tmp_path):
    jobs = quiet(api, tmp_path)
    url, job_id = kick_off(api)
    env = {**os.environ, "BONTRACK_EXPORT_DIR": str(jobs.root),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    cli = [sys.executable, "-c", "from bontrack.cli.main import run; run()"]
    r = subprocess.run([*cli, "worker", "--once", "--db", api.url], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    s = api.get("doc", url)
    assert s.status_code == 200, s.text
    assert {o["type"] for o in s.json()["output"]} == {"Patient", "Observation"}
    f = api.get("doc", f"/fhir/$export-files/{job_id}/Patient.ndjson")
    assert f.status_code == 200 and "Alex Synthetic" in f.text
    assert row(api, job_id)["worker"].split(":")[1] != str(os.getpid())


def test_a_restarted_server_takes_up_a_queued_job(api, tmp_path):
    jobs = quiet(api, tmp_path)
    url, _ = kick_off(api)  # queued; this "server" stops before running it
    fresh = create_app(api.url)
    fresh.state.fhir_jobs.root = jobs.root
    try:
        with TestClient(fresh) as b:  # its startup starts its worker thread
            deadline = time.monotonic() + 60
            while (s := b.get(url, headers=api.h("doc"))).status_code == 202:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert s.status_code == 200
    finally:
        fresh.state.bontrack.db.dispose()
