"""The documented fuzz run: schemathesis' own command line against a real server process.

    python -m tests.api.live_fuzz --db sqlite --seconds 200
    python -m tests.api.live_fuzz --db postgresql --seconds 200

What an outside tester does (issue 15): a seeded database with two clinics, the server
started with ``bontrack serve --access-log``, then ``schemathesis run`` once per role (admin,
clinician, nurse, patient) with that role's bearer token, every phase (examples, coverage,
fuzzing, stateful), ids as the API publishes them. The figures come from the server's own
access log, not from schemathesis: every answer the server sent is counted by status, and
the run fails if any is 5xx or if the server logged a traceback. The result is printed as
one JSON line and written to ``artifacts/live-fuzz-<db>.json``.

The pytest module ``test_fuzz_schema.py`` runs the same phases in-process on both databases,
with a smaller count, in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROLES = {"admin": "admin", "doc": "clinician", "nurse": "nurse", "pat": "patient"}
LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _seeded(kind: str, folder: Path) -> tuple[str, Any]:
    """A migrated database with both clinics' users and patients, and the planted records
    of another clinic and another patient (the same seed as the API tests)."""
    from fastapi.testclient import TestClient

    from bontrack.api.app import create_app
    from tests.api.conftest import PASSWORD, seed
    from tests.api.test_fuzz_schema import _plant
    from tests.conftest import fresh_database

    url, drop = fresh_database(kind, folder)
    ids = seed(url)
    app = create_app(url)
    tokens: dict[str, str] = {}
    with TestClient(app) as client:
        for who in ("admin", "doc", "doc2", "nurse", "doc_b", "pat", "pat2"):
            r = client.post("/api/v1/auth/token", json={"username": who, "password": PASSWORD})
            r.raise_for_status()
            tokens[who] = r.json()["access_token"]
        _plant(client, tokens, ids)
    app.state.bontrack.db.dispose()
    return url, (drop, tokens)


def run(kind: str, seconds: int, out_dir: Path, examples: int = 100) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bontrack-live-fuzz-"))
    url, (drop, tokens) = _seeded(kind, folder)
    port = _free_port()
    log_path = folder / "server.log"
    env = {**os.environ, "BONTRACK_MFA_REQUIRED": "off", "PYTHONUNBUFFERED": "1"}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", "from bontrack.cli.main import run; run()", "serve",
             "--db", url, "--port", str(port), "--access-log", "--no-migrate"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        started = time.monotonic()
        runs: dict[str, int] = {}
        for who in ROLES:
            # Sign-out would revoke the fuzzer's own token; it has its own tests.
            cmd = ["schemathesis", "run", f"{base}/openapi.json",
                   "-H", f"Authorization: Bearer {tokens[who]}",
                   "--phases", "examples,coverage,fuzzing,stateful",
                   "--checks", "not_a_server_error",
                   "--exclude-path", "/api/v1/auth/logout",
                   "--max-time", str(seconds), "--max-examples", str(examples),
                   "--seed", "15",
                   "--continue-on-failure", "--no-color", "--warnings", "off"]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            runs[who] = result.returncode
            (folder / f"schemathesis-{who}.txt").write_text(result.stdout + result.stderr)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop()
    text = log_path.read_text(errors="replace")
    statuses: Counter[str] = Counter()
    server_errors: Counter[str] = Counter()
    for match in LINE.finditer(text):
        statuses[match["status"]] += 1
        if match["status"].startswith("5"):
            server_errors[f"{match['method']} {match['path'].split('?')[0]}"] += 1
    report = {
        "db": kind, "seconds_per_role": seconds, "examples": examples,
        "elapsed_s": round(elapsed),
        "requests": sum(statuses.values()), "statuses": dict(sorted(statuses.items())),
        "server_errors": dict(server_errors), "tracebacks": text.count("Traceback"),
        "schemathesis_exit_codes": runs, "log_folder": str(folder),
        "ok": not server_errors and "Traceback" not in text,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"live-fuzz-{kind}.json").write_text(json.dumps(report, indent=1))
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=int, default=200, help="schemathesis time per role")
    parser.add_argument("--examples", type=int, default=100,
                        help="schemathesis' examples per operation and phase")
    parser.add_argument("--out", type=Path, default=Path("artifacts"))
    args = parser.parse_args()
    report = run(args.db, args.seconds, args.out, args.examples)
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
