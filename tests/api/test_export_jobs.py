"""Issue 15, item 3: Bulk Data export jobs are seen, downloaded and cancelled only by the
user who started them and by the admins of that clinic; their files are private (0600 in a
0700 folder) and removed after the retention period; a failed export says so in general
terms (the cause goes to the log). On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import os
import stat
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bontrack.fhir.bulk import Jobs


def run_export(api, who: str = "doc") -> str:
    r = api.get(who, "/fhir/$export", params={"_type": "Patient,Observation"})
    assert r.status_code == 202, r.text
    url = r.headers["Content-Location"].replace("http://testserver", "")
    deadline = time.monotonic() + 60
    while (s := api.get(who, url)).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert s.status_code == 200, s.text
    return url


def test_only_the_starter_and_the_clinics_admins_see_download_and_cancel_a_job(api, tmp_path):
    api.client.app.state.fhir_jobs.root = tmp_path / "exports"
    url = run_export(api, "doc")
    job_id = url.rsplit("/", 1)[1]
    files = f"/fhir/$export-files/{job_id}/Patient.ndjson"
    for who in ("nurse", "pat", "doc2", "doc_b"):
        assert api.get(who, url).status_code == 404, who
        r = api.get(who, files)
        assert r.status_code == 404 and "Synthetic" not in r.text, who
        assert api.client.delete(url, headers=api.h(who)).status_code == 404, who
        assert job_id not in api.get(who, url).text
    assert api.get("doc", files).status_code == 200
    assert api.get("admin", url).status_code == 200
    assert api.get("admin", files).status_code == 200
    assert api.client.delete(url, headers=api.h("admin")).status_code == 202
    assert api.get("doc", url).status_code == 404


def test_export_files_are_private(api, tmp_path):
    root = tmp_path / "exports"
    api.client.app.state.fhir_jobs.root = root
    job_id = run_export(api).rsplit("/", 1)[1]
    folder = root / job_id
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def ended_long_ago(api, job_id: str, hours: float) -> None:
    """Pretend the job ended ``hours`` ago (the row every server process reads)."""
    engine = sa.create_engine(api.url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE jobs SET ended_at = :t WHERE id = :id"),
                  {"t": datetime.now(UTC) - timedelta(hours=hours), "id": job_id})
    engine.dispose()


def test_files_are_removed_after_the_retention_period(api, tmp_path, monkeypatch):
    root = tmp_path / "exports"
    jobs: Jobs = api.client.app.state.fhir_jobs
    jobs.root = root
    url = run_export(api)
    job_id = url.rsplit("/", 1)[1]
    # a folder left by an earlier process, and a folder that is not a job's
    leftover, foreign = root / ("ab" * 12), root / "keep-me"
    for folder in (leftover, foreign):
        folder.mkdir()
        os.utime(folder, (time.time() - 30 * 3600,) * 2)
    monkeypatch.setenv("BONTRACK_EXPORT_RETENTION_HOURS", "24")
    assert api.get("doc", url).status_code == 200  # a poll sweeps; nothing is old enough
    assert (root / job_id).exists() and not leftover.exists() and foreign.exists()
    ended_long_ago(api, job_id, 25)
    assert api.get("doc", url).status_code == 404
    assert not (root / job_id).exists()
    monkeypatch.setenv("BONTRACK_EXPORT_RETENTION_HOURS", "1")
    url = run_export(api)
    ended_long_ago(api, url.rsplit("/", 1)[1], 2)
    assert api.get("doc", url).status_code == 404


def test_a_failed_export_says_so_without_the_database_error(api, tmp_path, caplog):
    jobs: Jobs = api.client.app.state.fhir_jobs
    jobs.root = tmp_path / "exports"

    def broken(work):
        raise RuntimeError('relation "patients" does not exist SECRET-DETAIL')

    jobs.handlers["fhir-export"] = broken
    r = api.get("doc", "/fhir/$export", params={"_type": "Patient"})
    url = r.headers["Content-Location"].replace("http://testserver", "")
    deadline = time.monotonic() + 60
    with caplog.at_level(logging.ERROR):
        while (s := api.get("doc", url)).status_code == 202:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert s.status_code == 500 and s.json()["resourceType"] == "OperationOutcome"
    assert "SECRET-DETAIL" not in s.text and "patients" not in s.text
    assert "the export failed" in s.text
    assert "SECRET-DETAIL" in caplog.text
    assert not (jobs.root / url.rsplit("/", 1)[1]).exists()
