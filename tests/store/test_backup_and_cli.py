"""Backup → restore round trip, the users commands and deterministic demo data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bontrack.demo.generator import generate
from bontrack.store.backup import backup, restore
from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database
from tests.conftest import fresh_database

TABLES = ("patients", "cycles", "injections", "vials", "cycle_findings", "outcomes",
          "side_effects", "goals", "weights", "users", "audit_events")


def dump(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as c:
        for t in TABLES:
            out[t] = [tuple(r) for r in c.execute(sa.text(f"SELECT * FROM {t} ORDER BY id"))]
    engine.dispose()
    return out


def demo_db(url: str, patients: int = 6, seed: int = 3) -> None:
    engine = make_engine(url)
    upgrade(engine)
    database = Database(engine)
    generate(database, patients=patients, seed=seed)
    database.dispose()  # chains the demo's audit events, as every command does when it ends


def test_backup_restore_round_trip_gives_identical_records(db_url, tmp_path):
    demo_db(db_url)
    target_url, drop = fresh_database("postgresql" if "postgresql" in db_url else "sqlite",
                                      tmp_path / "restored")
    if target_url.startswith("sqlite"):
        target_url = f"sqlite:///{tmp_path / 'restored.db'}"
    backup(db_url, tmp_path / "backup.bin")
    restore(tmp_path / "backup.bin", target_url)
    try:
        assert dump(target_url) == dump(db_url)
    finally:
        drop()


def test_restore_refuses_a_database_that_holds_records(db_url, tmp_path):
    demo_db(db_url, patients=1)
    backup(db_url, tmp_path / "b.bin")
    from bontrack.errors import BontrackError

    with pytest.raises(BontrackError, match="already holds"):
        restore(tmp_path / "b.bin", db_url)


def test_demo_is_deterministic_for_a_seed(tmp_path):
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    demo_db(a, patients=5, seed=11)
    demo_db(b, patients=5, seed=11)
    da, db = dump(a), dump(b)
    # the leading columns (ids, dates, products, doses, values) are the data; later ones
    # include creation times taken from the clock
    for table in ("patients", "cycles", "injections", "outcomes", "vials"):
        assert [r[:6] for r in da[table]] == [r[:6] for r in db[table]], table


def test_demo_cycles_all_pass_the_plan_check(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo_db(url, patients=25, seed=5)
    engine = sa.create_engine(url)
    with engine.connect() as c:
        verdicts = {r[0] for r in c.execute(sa.text("SELECT DISTINCT verdict FROM cycles"))}
        stops = c.execute(sa.text("SELECT count(*) FROM cycle_findings WHERE severity = "
                                  "'stop'")).scalar()
        kinds = {r[0] for r in c.execute(sa.text("SELECT DISTINCT indication FROM cycles"))}
    engine.dispose()
    assert "stop" not in verdicts and stops == 0
    assert len(kinds) >= 4


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           *args], input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)


def test_users_add_list_disable(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'u.db'}"
    assert run_cli("init", "--db", db).returncode == 0
    r = run_cli("users", "add", "dr.new", "--role", "clinician", "--clinic", "North",
                "--password", "a long enough password", "--db", db)
    assert r.returncode == 0, r.stderr
    r = run_cli("users", "list", "--db", db)
    assert "dr.new" in r.stdout and "clinician" in r.stdout
    r = run_cli("users", "add", "dr.x", "--role", "surgeon", "--password",
                "a long enough password", "--db", db)
    assert r.returncode == 2 and "role" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("users", "add", "dr.y", "--role", "nurse", "--password", "short", "--db", db)
    assert r.returncode == 2 and "password" in r.stderr
    assert run_cli("users", "disable", "dr.new", "--db", db).returncode == 0
    assert "yes" in run_cli("users", "list", "--db", db).stdout


def test_demo_and_backup_commands(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'd.db'}"
    r = run_cli("demo", "--patients", "3", "--no-serve", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "dr.lee" in r.stdout and "patients" in r.stdout
    r = run_cli("backup", str(tmp_path / "copy.db"), "--db", db)
    assert r.returncode == 0 and (tmp_path / "copy.db").stat().st_size > 0
    r = run_cli("backup", str(tmp_path / "copy.db"), "--db", db)
    assert r.returncode == 2 and "already exists" in r.stderr
