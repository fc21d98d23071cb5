"""deploy/entrypoint.sh, the container's and the systemd unit's entry point, run as it is
shipped: on a new SQLite file and a new PostgreSQL database it migrates, serves, and the
server reports ready with the newest schema revision."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bontrack.store.readiness import head_revision
from tests.conftest import fresh_database
from tests.store.test_durability import free_port

ENTRY = Path(__file__).resolve().parents[2] / "deploy" / "entrypoint.sh"
BIN = Path(sys.executable).parent


def start(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(ENTRY)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
        env={"PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HOME": os.environ.get("HOME", "/"),
             "BONTRACK_HOST": "127.0.0.1", "BONTRACK_PORT": str(port),
             "BONTRACK_WORKERS": "1", "BONTRACK_ACCESS_LOG": "1", **env})
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(proc: subprocess.Popen[str], base: str) -> httpx.Response:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"entrypoint exited {proc.returncode}: {proc.stdout.read()}")
        try:
            r = httpx.get(f"{base}/ready", timeout=2)
            if r.status_code == 200:
                return r
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("not ready in 120 s")


def stop(proc: subprocess.Popen[str]) -> str:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.stdout is not None
    return proc.stdout.read()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_entrypoint_migrates_a_new_database_then_serves_ready(kind: str, tmp_path: Path):
    url, drop = fresh_database(kind, tmp_path)
    try:
        proc, base = start({"DATABASE_URL": url, "BONTRACK_MIGRATE_URL": url})
        try:
            r = wait_ready(proc, base)
            assert r.json()["revision"] == head_revision()
            assert r.json()["database"] == kind
            assert httpx.get(f"{base}/health", timeout=5).status_code == 200
        finally:
            log = stop(proc)
        assert "schema up to date" in log  # the migration ran first, as the owner
        assert '"GET /ready HTTP/1.1" 200' in log  # BONTRACK_ACCESS_LOG
    finally:
        drop()


def test_entrypoint_gives_up_on_an_unreachable_database_with_a_message():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    proc, _ = start({"DATABASE_URL": url, "BONTRACK_DB_WAIT": "1"})
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "database not reachable or migration failed after 1 s" in out


def test_entrypoint_refuses_to_start_without_a_database_url():
    proc, _ = start({})
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "set DATABASE_URL" in out
