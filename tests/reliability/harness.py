"""A real bontrack server process for the reliability tests: started with ``bontrack serve``
on a free loopback port, killed with SIGKILL (or stopped), restarted on the same database.

The server's stderr goes to a log file so that a test can show any traceback it printed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tests.api.conftest import PASSWORD

CYCLE_TABLES = ("cycles", "injections", "vials", "cycle_findings", "overrides",
                "cycle_revisions")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``bontrack serve --db URL`` in its own process, on the same port across restarts."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> float:
        """Start the server and wait until /health answers; returns the seconds it took."""
        t0 = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from bontrack.cli.main import run; run()", "serve",
                 "--db", self.url, "--port", str(self.port)],
                stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ))
        self.starts += 1
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.tail()}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill(signal.SIGTERM)

    def rss_kib(self) -> int:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def token(self, who: str) -> dict[str, str]:
        r = httpx.post(f"{self.base}/api/v1/auth/token",
                       json={"username": who, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def new_patient(base: str, headers: dict[str, str], mrn: str, **over: Any) -> int:
    body = {"mrn": mrn, "display_name": f"Reliability {mrn}", "birth_date": "1920-01-01",
            "sex": "female"}
    body.update(over)
    r = httpx.post(f"{base}/api/v1/patients", json=body, headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def chain_now(url: str) -> int:
    """Chain every committed audit event, as ``audit verify`` does first (the servers'
    chainers may be at work: this waits its turn)."""
    from bontrack.store.audit_chain import chain_pending
    from bontrack.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as c:
            return chain_pending(c, wait=True)
    finally:
        engine.dispose()


def integrity(url: str) -> dict[str, Any]:
    """What a crash could have broken: cycles without their parts or their audit event,
    parts without a cycle, and the audit hash chain."""
    from bontrack.store.audit_chain import chained_events, verify

    chain_now(url)
    engine = sa.create_engine(url)
    q = sa.text
    try:
        with engine.connect() as c:
            out: dict[str, Any] = {
                "cycles": c.execute(q("SELECT count(*) FROM cycles")).scalar(),
                "without_injections": c.execute(q(
                    "SELECT count(*) FROM cycles c WHERE NOT EXISTS "
                    "(SELECT 1 FROM injections i WHERE i.cycle_id = c.id)")).scalar(),
                "without_vials": c.execute(q(
                    "SELECT count(*) FROM cycles c WHERE NOT EXISTS "
                    "(SELECT 1 FROM vials v WHERE v.cycle_id = c.id)")).scalar(),
                "without_audit": c.execute(q(
                    "SELECT count(*) FROM cycles c WHERE NOT EXISTS "
                    "(SELECT 1 FROM audit_events a WHERE a.entity = 'cycle' "
                    "AND a.action = 'create' AND a.entity_id = c.id)")).scalar(),
                "orphan_parts": sum(
                    c.execute(q(f"SELECT count(*) FROM {t} x WHERE NOT EXISTS "
                                "(SELECT 1 FROM cycles c WHERE c.id = x.cycle_id)")).scalar()
                    or 0
                    for t in CYCLE_TABLES[1:]),
                "parts": {
                    cid: (n_inj, n_vial, n_find)
                    for cid, n_inj, n_vial, n_find in c.execute(q(
                        "SELECT c.id, "
                        "(SELECT count(*) FROM injections i WHERE i.cycle_id = c.id), "
                        "(SELECT count(*) FROM vials v WHERE v.cycle_id = c.id), "
                        "(SELECT count(*) FROM cycle_findings f WHERE f.cycle_id = c.id) "
                        "FROM cycles c"))
                },
            }
            chain = verify(c.execute(chained_events()))
            out["chain_intact"] = chain.intact
            out["chained"] = chain.events
            out["chain_reason"] = chain.reason
    finally:
        engine.dispose()
    return out
