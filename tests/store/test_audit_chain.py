"""The audit trail is hash-chained: `bontrack audit verify` finds any edit or deletion made
directly in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa

from tests.store.test_backup_and_cli import demo_db


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           *args], capture_output=True, text=True, timeout=120, check=False,
                          env=env)


def drop_triggers(conn: sa.Connection) -> None:
    """What an attacker with database rights would do first."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_change ON audit_events")
    else:
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")


def test_an_untouched_trail_verifies(db_url):
    demo_db(db_url, patients=3)
    r = cli("audit", "verify", "--db", db_url)
    assert r.returncode == 0 and "intact" in r.stdout


def test_an_edited_event_is_the_first_broken_link(db_url):
    demo_db(db_url, patients=3)
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        drop_triggers(c)
        target = c.execute(sa.text("SELECT id FROM audit_events ORDER BY id LIMIT 1 "
                                   "OFFSET 2")).scalar()
        c.execute(sa.text("UPDATE audit_events SET outcome = 'ok', detail = 'nothing to see' "
                          "WHERE id = :i"), {"i": target})
    engine.dispose()
    r = cli("audit", "verify", "--db", db_url)
    assert r.returncode == 1
    assert f"BROKEN at event {target}" in r.stderr and "changed" in r.stderr


def test_a_deleted_event_breaks_the_chain_at_the_next_one(db_url):
    demo_db(db_url, patients=3)
    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        drop_triggers(c)
        ids = [r[0] for r in c.execute(sa.text("SELECT id FROM audit_events ORDER BY id"))]
        c.execute(sa.text("DELETE FROM audit_events WHERE id = :i"), {"i": ids[1]})
    engine.dispose()
    r = cli("audit", "verify", "--db", db_url)
    assert r.returncode == 1 and f"BROKEN at event {ids[2]}" in r.stderr
    assert "deleted" in r.stderr


def test_audit_show_lists_a_patients_events(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    demo_db(db, patients=2)
    r = cli("audit", "show", "--patient", "1", "--db", db)
    assert r.returncode == 0 and "demo_create" in r.stdout and "events for patient 1" in r.stdout
