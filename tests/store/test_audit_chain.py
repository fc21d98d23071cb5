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


def test_events_are_inserted_unchained_and_only_the_chainer_fills_their_chain_once(db_url):
    from datetime import UTC, datetime

    from bontrack.store.audit_chain import chain_pending, chained_events, verify
    from bontrack.store.db import make_engine
    from bontrack.store.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    insert = sa.text("INSERT INTO audit_events (at, action, entity, outcome, detail, "
                     "prev_hash, hash) VALUES (:at, 'read', 'patient', 'ok', '', '', '')")
    with engine.begin() as c:
        for _ in range(3):
            c.execute(insert, {"at": datetime.now(UTC)})

    def refused(statement: str) -> bool:
        try:
            with engine.begin() as c:
                c.execute(sa.text(statement))
        except sa.exc.DBAPIError as exc:
            return "append-only" in str(exc)
        return False

    assert refused("UPDATE audit_events SET detail = 'edited while unchained'")
    assert refused("UPDATE audit_events SET prev_hash = 'x'")  # no chain place: refused
    assert refused("DELETE FROM audit_events")
    with engine.begin() as c:
        assert chain_pending(c, wait=True) == 3
        assert chain_pending(c, wait=True) == 0
    assert refused("UPDATE audit_events SET chain_seq = chain_seq + 10, hash = 'f'")
    with engine.connect() as c:
        verdict = verify(c.execute(chained_events()))
        seqs = [r[0] for r in c.execute(sa.text("SELECT chain_seq FROM audit_events "
                                                "ORDER BY chain_seq"))]
    engine.dispose()
    assert verdict.intact and verdict.events == 3
    assert seqs == [1, 2, 3]
