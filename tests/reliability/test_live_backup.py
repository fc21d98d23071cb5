"""Issue 6, item 4 (backup): ``bontrack backup`` taken while clients are writing cycles to a
real server, then ``bontrack restore`` into an empty database, gives a consistent snapshot:
every cycle acknowledged before the backup started is there, every restored row is
identical to the live row, nothing is half saved, and the audit trail is an unbroken
prefix of the live one.

Audit events are committed unchained and given their place in the chain afterwards by the
chainer (docs/store.md, "The audit chain's order"), so a backup of a live database may hold
events committed but not chained yet. Those are restored as they were committed, and chained
in the restored copy when it is first used (``audit verify`` chains first): the chained part
of the restored trail is the live chain's prefix, event for event and hash for hash, and the
whole restored trail verifies.

    PYTHONPATH=src pytest -s tests/reliability/test_live_backup.py
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tests.api.conftest import seed, uls_cycle
from tests.conftest import fresh_database
from tests.reliability.harness import ServerProcess, integrity, new_patient

WRITERS = 3
#: Tables compared row by row (only ever inserted into; patients without record_version,
#: which every write to a patient's record bumps).
TABLES = ("patients", "weights", "cycles", "injections", "vials", "cycle_findings",
          "overrides", "audit_events")
#: The audit columns the chainer fills after the event is committed.
CHAIN = ("chain_seq", "prev_hash", "hash")


def rows(url: str) -> dict[str, dict[Any, dict[str, Any]]]:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine, only=TABLES)
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    with engine.connect() as c:
        for name in TABLES:
            t = meta.tables[name]
            cols = [col for col in t.c if col.name != "record_version"]
            out[name] = {r.id: dict(r._mapping)
                         for r in c.execute(sa.select(*cols).order_by(t.c.id))}
    engine.dispose()
    return out


def same(name: str, restored: dict[str, Any], live: dict[str, Any] | None) -> bool:
    """A restored row is the live row; an audit event not chained yet in the backup is the
    live event in every column its request wrote (the chainer fills the rest later)."""
    if live is None:
        return False
    if name == "audit_events" and restored["chain_seq"] is None:
        return all(v == live[k] for k, v in restored.items() if k not in CHAIN)
    return restored == live


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           *args], capture_output=True, text=True, timeout=300, check=False)


def test_backup_of_a_live_database_restores_a_consistent_snapshot(db_url, tmp_path: Path):
    kind = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    seed(db_url)
    srv = ServerProcess(db_url, tmp_path / "server.log")
    srv.start()
    acked: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def writer(patient_id: int) -> None:
        with httpx.Client(base_url=srv.base, headers=h, timeout=60) as c:
            k = 0
            while not stop.is_set():
                day = date(1950, 1, 1) + timedelta(days=90 * k)
                k += 1
                r = c.post(f"/api/v1/patients/{patient_id}/cycles",
                           json=uls_cycle(date=day.isoformat()))
                if r.status_code == 201:
                    acked.append(r.json()["id"])
                else:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    try:
        h = srv.token("doc")
        threads = [threading.Thread(target=writer, args=(new_patient(srv.base, h, f"B-{k}"),))
                   for k in range(WRITERS)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= 10)  # a loaded machine may take seconds
        before = set(acked)  # acknowledged before the backup started
        t0 = time.monotonic()
        done = cli("backup", str(tmp_path / "live.backup"), "--db", db_url)
        took = time.monotonic() - t0
        during = len(acked) - len(before)
        after = len(acked)
        wait_for(lambda: len(acked) >= after + 3)  # writes go on after the backup point
        stop.set()
        for t in threads:
            t.join(timeout=60)
    finally:
        srv.stop()
    assert done.returncode == 0, done.stderr
    assert not errors, errors[:3]
    target, drop = fresh_database(kind, tmp_path / "restored")
    try:
        done = cli("restore", str(tmp_path / "live.backup"), "--db", target)
        assert done.returncode == 0, done.stderr
        live, restored = rows(db_url), rows(target)
        found = integrity(target)
    finally:
        drop()
    differing = {name: [i for i, r in restored[name].items()
                        if not same(name, r, live[name].get(i))] for name in TABLES}
    cycles = set(restored["cycles"])
    chained = sorted((e["chain_seq"], e["id"], e["hash"]) for e in restored["audit_events"].values()
                     if e["chain_seq"] is not None)
    prefix = sorted((e["chain_seq"], e["id"], e["hash"]) for e in live["audit_events"].values()
                    if e["chain_seq"] is not None and e["chain_seq"] <= len(chained))
    pending = len(restored["audit_events"]) - len(chained)
    print(f"\n[{kind}] backup while {WRITERS} clients write: {len(before)} cycles acknowledged "
          f"before it, {during} during it ({took:.1f} s); restored {len(cycles)} cycles, "
          f"{sum(len(v) for v in restored.values())} rows in {len(TABLES)} tables, all "
          f"identical to the live rows: {not any(differing.values())}; live database ended "
          f"with {len(live['cycles'])} cycles; half-saved in the restored copy: "
          f"{found['without_injections'] + found['without_vials'] + found['without_audit']}; "
          f"{len(chained)} audit events chained in the backup, {pending} chained after "
          f"restore; audit chain {found['chain_reason']}")
    assert before <= cycles, sorted(before - cycles)[:10]
    assert not any(differing.values()), {k: v[:5] for k, v in differing.items() if v}
    assert found["without_injections"] == found["without_vials"] == 0
    assert found["without_audit"] == found["orphan_parts"] == 0
    assert found["chain_intact"], found["chain_reason"]
    assert [seq for seq, _, _ in chained] == list(range(1, len(chained) + 1))
    assert chained == prefix, "the restored audit chain is not a prefix of the live one"
    assert found["chained"] == len(restored["audit_events"]), "events left unchained"
    assert len(live["cycles"]) > len(cycles), "no write happened after the backup point"


def test_restore_creates_the_folder_of_a_new_sqlite_file(tmp_path: Path):
    """It used to fail with "internal error (OperationalError: unable to open database
    file)" when the target's folder did not exist yet (backup already created it)."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    assert cli("db", "upgrade", "--db", source).returncode == 0
    assert cli("backup", str(tmp_path / "b.db"), "--db", source).returncode == 0
    done = cli("restore", str(tmp_path / "b.db"), "--db",
               f"sqlite:///{tmp_path / 'new' / 'folder' / 'restored.db'}")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "new" / "folder" / "restored.db").stat().st_size > 0
