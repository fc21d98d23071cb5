"""The bulk demo registry (`bontrack demo --patients N`): the same seed gives the same rows
whatever the batch size and however many processes draw them, every stored cycle passes the
plan check when read back from the store, and the audit trail it writes verifies — on SQLite
and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bontrack.clinical.check import check_plan
from bontrack.clinical.plan import read_plan
from bontrack.demo import generator as demo
from bontrack.reference import default_reference
from bontrack.services import audit
from bontrack.store.audit_chain import chain_pending, chained_events, verify
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database
from tests.conftest import fresh_database

PATIENTS = 300
#: Columns filled from the clock when a row is written (the rest is the seed's data).
CLOCK = {"created_at", "updated_at", "at", "prev_hash", "hash", "password_hash"}
TABLES = ("patients", "conditions", "goals", "weights", "cycles", "injections", "vials",
          "cycle_findings", "outcomes", "side_effects", "diary_entries", "audit_events")


def build(url: str, patients: int = PATIENTS, seed: int = 7, workers: int = 0) -> demo.Summary:
    engine = make_engine(url)
    upgrade(engine)
    summary = demo.generate(Database(engine), patients=patients, seed=seed,
                            workers=workers)
    engine.dispose()
    return summary


def digest(url: str) -> dict[str, str]:
    """A SHA-256 of every table's rows in id order, clock columns left out."""
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as c:
        for table in TABLES:
            result = c.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
            keep = [k for k, name in enumerate(result.keys()) if name not in CLOCK]
            h = hashlib.sha256()
            for row in result:
                h.update(repr([_plain(row[k]) for k in keep]).encode())
            out[table] = h.hexdigest()
    engine.dispose()
    return out


def _plain(value: Any) -> Any:
    # NUMERIC comes back as Decimal('60.000') from PostgreSQL and Decimal('60') from SQLite
    return value.normalize() if hasattr(value, "normalize") else value


def test_the_same_seed_gives_the_same_registry_whatever_the_batches_and_processes(
        db_url, tmp_path, monkeypatch):
    kind = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    other, drop = fresh_database(kind, tmp_path / "other")
    if kind == "sqlite":
        other = f"sqlite:///{tmp_path / 'other.db'}"
    try:
        first = build(db_url)
        monkeypatch.setattr(demo, "BATCH", 64)
        second = build(other, workers=2)  # drawn in two other processes
        assert (first.patients, first.cycles, first.injections) == (
            second.patients, second.cycles, second.injections)
        assert digest(db_url) == digest(other)
    finally:
        drop()
    # sized so that 100,000 patients make about a million injections
    assert 9 <= first.injections / first.patients <= 12


def test_every_stored_cycle_passes_the_plan_check_read_back_from_the_store(db_url):
    summary = build(db_url)
    ref = default_reference()
    engine = sa.create_engine(db_url)
    with engine.connect() as c:
        patients = {r.id: r for r in c.execute(sa.text("SELECT * FROM patients"))}
        cycles = list(c.execute(sa.text("SELECT * FROM cycles ORDER BY patient_id, date")))
        children: dict[str, dict[int, list[Any]]] = {}
        for table in ("injections", "vials", "cycle_findings"):
            children[table] = defaultdict(list)
            for r in c.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")):
                children[table][r.cycle_id].append(r)
        overrides = c.execute(sa.text("SELECT count(*) FROM overrides")).scalar()
    engine.dispose()
    assert len(cycles) == summary.cycles and overrides == 0
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for cycle in cycles:
        patient = patients[cycle.patient_id]
        doc = {
            # the demo clinic injects at 09:30 (the vials were made up half an hour before)
            "date": datetime.combine(_day(cycle.date), time(9, 30)),
            "patient": {"birth_date": _day(patient.birth_date), "weight_kg": cycle.weight_kg},
            "product": cycle.product, "indication": cycle.indication,
            "injections": [{"muscle": i.muscle, "side": i.side, "units": i.units,
                            "sites": i.sites, "guidance": i.guidance}
                           for i in children["injections"][cycle.id]],
            "vials": [{k: v for k, v in (("size_units", v.size_units),
                                         ("diluent_ml", v.diluent_ml),
                                         ("reconstituted_at", _moment(v.reconstituted_at)),
                                         ("lot", v.lot), ("expiry", _day(v.expiry)))
                       if v is not None} for v in children["vials"][cycle.id]],
            "history": list(history[cycle.patient_id]),
        }
        result = check_plan(read_plan(doc, ref), ref)
        assert cycle.verdict != "stop" and result.verdict == cycle.verdict, cycle.id
        assert sorted(f.code for f in result.findings) == sorted(
            f.code for f in children["cycle_findings"][cycle.id]), cycle.id
        assert cycle.total_units == result.plan.total_units()
        history[cycle.patient_id].append({"date": _day(cycle.date), "product": cycle.product,
                                          "indication": cycle.indication,
                                          "total_units": cycle.total_units})


def test_the_audit_trail_of_a_bulk_demo_verifies_and_later_events_chain_on(db_url):
    build(db_url, patients=120)
    build(db_url, patients=30)  # a second run adds patients 121-150 to the same clinic
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with transaction(sessions) as s:  # an ordinary event after the bulk ones
        audit.record(s, None, "read", "patient", 1, 1)
    with engine.begin() as c:  # what `audit verify` does first
        chain_pending(c, wait=True)
    with engine.connect() as c:
        verdict = verify(c.execute(chained_events()))
        created = c.execute(sa.text("SELECT count(DISTINCT patient_id) FROM audit_events "
                                    "WHERE action = 'demo_create'")).scalar()
        versions = {r[0] for r in c.execute(sa.text("SELECT record_version FROM patients"))}
        mrns = c.execute(sa.text("SELECT max(mrn) FROM patients")).scalar()
    engine.dispose()
    assert verdict.intact, verdict.reason
    assert verdict.events == 151 and created == 150
    assert versions == {2}  # created (1), then one audited write each
    assert mrns == "DEMO-000150"


@pytest.mark.parametrize("patients", [1, 3])
def test_a_tiny_demo_still_gives_a_patient_account_with_a_diary(tmp_path: Path, patients):
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    summary = build(url, patients=patients)
    assert [a[0] for a in summary.accounts][-1] == "patient1"
    engine = sa.create_engine(url)
    with engine.connect() as c:
        linked = c.execute(sa.text("SELECT patient_id FROM users WHERE username = 'patient1'"
                                   )).scalar()
        diary = c.execute(sa.text("SELECT count(*) FROM diary_entries")).scalar()
    engine.dispose()
    assert linked == 1 and diary == 8


def _day(value: Any) -> Any:
    return datetime.fromisoformat(value).date() if isinstance(value, str) else value


def _moment(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
