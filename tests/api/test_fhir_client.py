"""A generic FHIR client (fhirpy, not ours) reads and searches the facade of a real server
process (uvicorn via `bontrack serve`) on a real database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from tests.api.conftest import PASSWORD, Api, seed
from tests.api.fhir_records import full_record

SRC = str(Path(__file__).resolve().parents[2] / "src")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(db_url: str):
    ids = seed(db_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bontrack.cli.main import run; run()", "serve",
         "--db", db_url, "--port", str(port)], env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as http:
            api = Api(client=http, url=db_url, ids=dict(ids))  # type: ignore[arg-type]
            for who in ("doc", "nurse", "pat", "doc_b"):
                r = http.post("/api/v1/auth/token", json={"username": who,
                                                          "password": PASSWORD})
                api.tokens[who] = r.json()["access_token"]
            full_record(api)
            yield base, api
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def client(base: str, api: Api, who: str) -> SyncFHIRClient:
    return SyncFHIRClient(f"{base}/fhir", authorization=f"Bearer {api.tokens[who]}")


def test_fhirpy_reads_and_searches_with_paging(server):
    base, api = server
    fhir = client(base, api, "doc")
    p1 = api.ids["p1"]
    patient = fhir.reference("Patient", p1).to_resource()
    assert patient["identifier"][0]["value"] == "A-1"
    patients = fhir.resources("Patient").fetch_all()
    assert sorted(p["id"] for p in patients) == sorted([str(p1), str(api.ids["p2"])])
    obs = fhir.resources("Observation").search(patient=f"Patient/{p1}").limit(2).fetch_all()
    assert len(obs) == 5  # followed the next links, two at a time
    assert fhir.resources("Observation").search(patient=p1).count() == 5
    mas = fhir.resources("MedicationAdministration").search(
        patient=p1, code="onabotulinumtoxinA").fetch_all()
    assert {m["dosage"]["dose"]["value"] for m in mas} == {100, 50}
    first = fhir.resources("Observation").search(
        patient=p1, date__ge="2026-12-01").sort("_id").first()
    assert first is not None and first["effectiveDateTime"].startswith("2026-12-04")
    for kind in ("Condition", "Procedure", "AdverseEvent", "Goal"):
        found = fhir.resources(kind).search(patient=p1).fetch()
        assert len(found) == 1, kind


def test_fhirpy_sees_the_rules_not_found_forbidden_and_operation_outcomes(server):
    base, api = server
    with pytest.raises(ResourceNotFound):
        client(base, api, "doc_b").reference("Patient", api.ids["p1"]).to_resource()
    assert client(base, api, "pat").resources("Patient").fetch_all()[0]["id"] == \
        str(api.ids["p1"])
    with pytest.raises(OperationOutcome):
        client(base, api, "doc").resources("Observation").search(colour="blue").fetch()
