"""Issue 15, item 2: the audit trail anchored by Ed25519-signed checkpoints kept outside the
database. `bontrack audit verify` fails on a truncated trail, a deletion with the chain
recomputed, or an edited checkpoint file, where the chain alone still verifies. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bontrack.store.audit_chain import GENESIS, event_hash
from tests.store.test_audit_chain import drop_triggers
from tests.store.test_backup_and_cli import demo_db


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           *args], capture_output=True, text=True, timeout=180, check=False,
                          env={**os.environ, "COLUMNS": "200", **env})


@pytest.fixture
def anchored(db_url: str, tmp_path: Path):
    demo_db(db_url, patients=3)
    env = {"BONTRACK_AUDIT_KEY": str(tmp_path / "keys" / "audit.key"),
           "BONTRACK_AUDIT_CHECKPOINTS": str(tmp_path / "anchor" / "checkpoints.jsonl")}
    r = run(env, "audit", "checkpoint", "--db", db_url)
    assert r.returncode == 0, r.stderr
    return db_url, env


def chain_only(db_url: str) -> subprocess.CompletedProcess[str]:
    """The verify of before: no checkpoint file named."""
    return run({"BONTRACK_AUDIT_CHECKPOINTS": ""}, "audit", "verify", "--db", db_url)


def recompute(conn: sa.Connection) -> None:
    """An attacker with database rights recomputes every hash after a change."""
    prev = GENESIS
    for r in conn.execute(sa.text("SELECT * FROM audit_events ORDER BY id")).mappings().all():
        at = r["at"]
        if isinstance(at, str):
            at = datetime.fromisoformat(at)  # SQLite's text
        digest = event_hash(prev, at, r["user_id"], r["clinic_id"], r["action"], r["entity"],
                            r["entity_id"], r["patient_id"], r["outcome"], r["detail"])
        conn.execute(sa.text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
                     {"p": prev, "h": digest, "i": r["id"]})
        prev = digest


def test_an_untouched_anchored_trail_verifies_and_files_are_private(anchored, tmp_path):
    db_url, env = anchored
    r = run(env, "audit", "verify", "--db", db_url)
    assert r.returncode == 0, r.stderr
    assert "intact" in r.stdout and "anchored: 1 signed checkpoint(s) match" in r.stdout
    for path in (Path(env["BONTRACK_AUDIT_KEY"]), Path(env["BONTRACK_AUDIT_CHECKPOINTS"])):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    line = json.loads(Path(env["BONTRACK_AUDIT_CHECKPOINTS"]).read_text().splitlines()[0])
    assert {"sequence", "hash", "count", "at", "key", "signature", "previous"} <= set(line)
    assert line["count"] > 0 and len(line["hash"]) == 64


def test_newest_events_deleted_are_found(anchored):
    db_url, env = anchored
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        drop_triggers(c)
        newest = c.execute(sa.text("SELECT max(id) FROM audit_events")).scalar_one()
        c.execute(sa.text("DELETE FROM audit_events WHERE id > :i"), {"i": newest - 5})
    engine.dispose()
    assert chain_only(db_url).returncode == 0  # the chain alone cannot tell
    r = run(env, "audit", "verify", "--db", db_url)
    assert r.returncode == 1 and "truncated" in r.stderr, r.stderr


def test_a_patients_events_deleted_and_the_chain_recomputed_are_found(anchored):
    db_url, env = anchored
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        drop_triggers(c)
        c.execute(sa.text("DELETE FROM audit_events WHERE patient_id = 1"))
        recompute(c)
    engine.dispose()
    assert chain_only(db_url).returncode == 0  # the chain alone cannot tell
    r = run(env, "audit", "verify", "--db", db_url)
    assert r.returncode == 1, r.stdout
    assert "recomputed" in r.stderr or "deleted" in r.stderr or "missing" in r.stderr


def test_an_edited_event_with_the_chain_recomputed_is_found(anchored):
    db_url, env = anchored
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        drop_triggers(c)
        first = c.execute(sa.text("SELECT min(id) FROM audit_events")).scalar_one()
        c.execute(sa.text("UPDATE audit_events SET detail = 'nothing to see' WHERE id = :i"),
                  {"i": first})
        recompute(c)
    engine.dispose()
    assert chain_only(db_url).returncode == 0
    r = run(env, "audit", "verify", "--db", db_url)
    assert r.returncode == 1 and "recomputed" in r.stderr, r.stderr


def test_an_edited_checkpoint_file_is_found(anchored):
    db_url, env = anchored
    path = Path(env["BONTRACK_AUDIT_CHECKPOINTS"])
    doc = json.loads(path.read_text())
    doc["count"] -= 5
    path.write_text(json.dumps(doc) + "\n")
    r = run(env, "audit", "verify", "--db", db_url)
    assert r.returncode == 1 and "bad signature" in r.stderr, r.stderr


def test_later_events_verify_and_a_second_checkpoint_chains_to_the_first(anchored):
    db_url, env = anchored
    demo_db(db_url, patients=1, seed=9)  # more events after the checkpoint
    r = run(env, "audit", "verify", "--db", db_url)
    assert r.returncode == 0 and " since" in r.stdout and ", 0 since" not in r.stdout
    assert run(env, "audit", "checkpoint", "--db", db_url).returncode == 0
    r = run(env, "audit", "verify", "--db", db_url)
    assert r.returncode == 0 and "2 signed checkpoint(s) match" in r.stdout
    # dropping the first checkpoint from the file breaks the checkpoints' own chain
    path = Path(env["BONTRACK_AUDIT_CHECKPOINTS"])
    path.write_text(path.read_text().splitlines()[1] + "\n")
    r = run(env, "audit", "verify", "--db", db_url)
    assert r.returncode == 1 and "does not follow" in r.stderr


def test_a_checkpoint_with_another_key_or_no_key_is_refused(anchored, tmp_path):
    db_url, env = anchored
    other = {**env, "BONTRACK_AUDIT_KEY": str(tmp_path / "other.key")}
    assert run(other, "audit", "keygen").returncode == 0
    r = run(other, "audit", "verify", "--db", db_url)
    assert r.returncode == 1 and "another key" in r.stderr
    r = run(other, "audit", "keygen")
    assert r.returncode != 0 and "never overwritten" in r.stderr


def test_a_broken_chain_is_not_signed(anchored):
    db_url, env = anchored
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        drop_triggers(c)
        c.execute(sa.text("UPDATE audit_events SET detail = 'x' WHERE id = "
                          "(SELECT min(id) FROM audit_events)"))
    engine.dispose()
    r = run(env, "audit", "checkpoint", "--db", db_url)
    assert r.returncode != 0 and "not signed" in r.stderr


def test_checkpoint_needs_a_named_location(db_url, tmp_path):
    demo_db(db_url, patients=1)
    r = run({"BONTRACK_AUDIT_CHECKPOINTS": "", "BONTRACK_AUDIT_KEY": str(tmp_path / "k")},
            "audit", "checkpoint", "--db", db_url)
    assert r.returncode != 0 and "BONTRACK_AUDIT_CHECKPOINTS" in r.stderr
