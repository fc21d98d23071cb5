"""/health and /ready against a real server process (uvicorn, httptools, the app factory):
ready only when the database is reachable, writable and migrated to the newest revision."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.readiness import head_revision
from tests.conftest import fresh_database
from tests.store.test_durability import free_port

SETPRIV = shutil.which("setpriv")
AS_NOBODY = [SETPRIV or "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


class Served:
    """``bontrack serve`` in its own process (optionally as another user)."""

    def __init__(self, url: str, *args: str, as_nobody: bool = False,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-c", "from bontrack.cli.main import run; run()", "serve",
               "--db", url, "--port", str(self.port), *args]
        if as_nobody:
            cmd = [*AS_NOBODY, *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read().decode()}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", timeout=30)

    def stop(self) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        return self.proc.stdout.read().decode(errors="replace")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path):
    url, drop = fresh_database(request.param, tmp_path)
    yield url
    drop()


def assert_not_ready(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["title"] == "Not ready"
    for word in words:
        assert word in body["detail"], body


def test_a_migrated_database_is_ready_with_two_workers_and_an_access_log(empty_db):
    srv = Served(empty_db, "--workers", "2", "--access-log")
    try:
        health = srv.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        ready = srv.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["revision"] == head_revision()
        assert ready.json()["database"] in ("sqlite", "postgresql")
        assert "server" not in ready.headers  # no server banner
        children = Path(f"/proc/{srv.proc.pid}/task/{srv.proc.pid}/children").read_text()
        assert len(children.split()) >= 2  # the supervisor runs two worker processes
    finally:
        log = srv.stop()
    assert '"GET /ready HTTP/1.1" 200' in log


def test_a_database_missing_its_newest_migration_is_not_ready(empty_db):
    engine = make_engine(empty_db)
    upgrade(engine, "0004")
    engine.dispose()
    srv = Served(empty_db, "--no-migrate")
    try:
        assert srv.get("/health").status_code == 200  # alive, but
        r = srv.get("/ready")
        assert_not_ready(r, "revision 0004", head_revision(), "bontrack db upgrade")
        assert r.json()["revision"] == "0004"
    finally:
        srv.stop()


def test_a_database_without_a_schema_is_not_ready(empty_db):
    srv = Served(empty_db, "--no-migrate")
    try:
        assert_not_ready(srv.get("/ready"), "no schema")
    finally:
        srv.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the server as 'nobody'")
def test_a_read_only_sqlite_file_is_not_ready():
    """Run as an unprivileged user (root ignores file modes): the same file is ready while
    writable and not ready once it is read-only."""
    folder = Path(tempfile.mkdtemp(prefix="bontrack-ro-"))  # pytest's tmp is root-only
    try:
        check_read_only(folder)
    finally:
        shutil.rmtree(folder)


def readable_by_nobody(folder: Path) -> dict[str, str]:
    """An environment in which 'nobody' can import bontrack: the checkout may sit in a folder
    only root can read (CI does), so a copy of the package goes into the shared folder. The
    installed dependencies must be readable by 'nobody' too; where they are not, the test is
    skipped and says why."""
    import bontrack

    src = folder / "src"
    shutil.copytree(Path(bontrack.__file__).parent, src / "bontrack",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in [src, *src.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    probe = subprocess.run([*AS_NOBODY, sys.executable, "-c", "import bontrack.cli.main"],
                           env=env, capture_output=True, text=True, cwd=folder)
    if probe.returncode != 0:
        pytest.skip("'nobody' cannot import bontrack's dependencies here: "
                    + probe.stderr.strip().splitlines()[-1])
    return env


def check_read_only(folder: Path) -> None:
    folder.chmod(0o755)
    env = readable_by_nobody(folder)
    data = folder / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    data.chmod(0o755)
    shutil.chown(data, "nobody", "nogroup")
    for f in data.iterdir():
        shutil.chown(f, "nobody", "nogroup")
    srv = Served(url, "--no-migrate", as_nobody=True, env=env)
    try:
        assert srv.get("/ready").status_code == 200
    finally:
        srv.stop()
    for f in data.iterdir():
        f.chmod(0o444)
    srv = Served(url, "--no-migrate", as_nobody=True, env=env)
    try:
        assert srv.get("/health").status_code == 200
        assert_not_ready(srv.get("/ready"), "not writable", "readonly")
    finally:
        srv.stop()


def test_a_read_only_postgresql_database_is_not_ready(tmp_path: Path):
    url, drop = fresh_database("postgresql", tmp_path)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        name = sa.engine.make_url(url).database
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        admin.dispose()
        srv = Served(url, "--no-migrate")
        try:
            assert_not_ready(srv.get("/ready"), "not writable", "read-only")
        finally:
            srv.stop()
    finally:
        drop()


def test_an_unreachable_database_is_not_ready_but_the_process_is_alive():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    srv = Served(url, "--no-migrate")
    try:
        assert srv.get("/health").status_code == 200
        assert_not_ready(srv.get("/ready"), "unreachable")
    finally:
        srv.stop()
