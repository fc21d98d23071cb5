"""Issue 16 item 10: BONTRACK_READ_DATABASE_URL sends the long reads (a Bulk Data export)
to a replica while every request, and the job table, stay on the primary. The "replica"
here is a copy of the database taken before a write: the export shows the copy's rows.
On SQLite and PostgreSQL."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from bontrack.api.app import create_app
from tests.api.conftest import copy_database


def test_an_export_reads_the_replica_and_requests_the_primary(api, tmp_path, monkeypatch,
                                                              request):
    jobs = api.client.app.state.fhir_jobs
    jobs.stop()
    api.client.app.state.bontrack.db.dispose()  # a PostgreSQL template copy needs no users
    kind = "sqlite" if api.url.startswith("sqlite") else "postgresql"
    (tmp_path / "replica").mkdir()
    replica, drop = copy_database(api.url, kind, tmp_path / "replica")
    request.addfinalizer(drop)
    monkeypatch.setenv("BONTRACK_READ_DATABASE_URL", replica)
    monkeypatch.setenv("BONTRACK_EXPORT_DIR", str(tmp_path / "exports"))
    app = create_app(api.url)
    try:
        with TestClient(app) as client:
            h = api.h("doc")
            r = client.post("/api/v1/patients", headers=h, json={
                "mrn": "A-NEW", "display_name": "Robin Afterwards",
                "birth_date": "1980-01-01"})
            assert r.status_code == 201, r.text
            assert client.get(f"/api/v1/patients/{r.json()['id']}", headers=h
                              ).status_code == 200  # requests read the primary
            k = client.get("/fhir/$export", headers=h, params={"_type": "Patient"})
            assert k.status_code == 202, k.text
            url = k.headers["Content-Location"].replace("http://testserver", "")
            deadline = time.monotonic() + 60
            while (s := client.get(url, headers=h)).status_code == 202:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert s.status_code == 200, s.text
            path = s.json()["output"][0]["url"].replace("http://testserver", "")
            text = client.get(path, headers=h).text
            assert "Alex Synthetic" in text and "Robin Afterwards" not in text
    finally:
        app.state.bontrack.db.dispose()
