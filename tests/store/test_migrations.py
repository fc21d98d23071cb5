"""The schema comes from migrations only, and the models agree with them on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.models import Base
from bontrack.store.search_index import NOT_IN_MODELS


def test_upgrade_from_empty_creates_every_table(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= names
    assert "alembic_version" in names
    engine.dispose()


def test_models_and_migrations_agree(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        # the patient search index (migration 0013) is not described by the models
        context = MigrationContext.configure(conn, opts={
            "include_name": lambda name, kind, parent: name not in NOT_IN_MODELS})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_search_index_migrates_down_and_up_again(db_url):
    """Migration 0013 (the patient search index) and 0014 (covering indexes) go down and up
    again; the FTS5 table is rebuilt from the patients already there."""
    from alembic import command

    from bontrack.store.migrate import alembic_config

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO clinics (name, created_at) VALUES ('C', CURRENT_TIMESTAMP)")
        c.exec_driver_sql(
            "INSERT INTO patients (clinic_id, mrn, display_name, birth_date, sex, flags, "
            "medications, status, version, record_version, created_at, updated_at) "
            "SELECT id, 'MRN-9', 'Wilhelmina Test', '1960-01-01', 'female', '[]', '[]', "
            "'active', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM clinics")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    upgrade(engine)
    _search_index_finds_one(engine, "helmin")
    engine.dispose()


def _search_index_finds_one(engine, text: str) -> None:
    """On SQLite, the FTS5 search index (kept by migration 0013's triggers) finds exactly one
    patient for ``text``; PostgreSQL's trigram indexes need no triggers."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as c:
            found = c.exec_driver_sql("SELECT rowid FROM patients_search "
                                      f"WHERE patients_search MATCH '\"{text}\"'").all()
        assert len(found) == 1


def test_upgrade_twice_is_harmless(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)
    engine.dispose()


def test_audit_events_are_append_only_in_the_database(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO audit_events (at, action, entity, outcome, detail) "
                          "VALUES (CURRENT_TIMESTAMP, 'read', 'patient', 'ok', '')"))
    for statement in ("UPDATE audit_events SET outcome = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(sa.text(statement))
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 1
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_entered_in_error_columns_migrate_down_and_up_again(db_url):
    """Migration 0010 (entered in error for outcomes, goals, side effects and diary) goes
    down and up again on both databases, SQLite included."""
    from alembic import command

    from bontrack.store.migrate import alembic_config

    engine = make_engine(db_url)
    upgrade(engine)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("outcomes")}
    assert "error_reason" not in columns and "version" not in columns
    upgrade(engine)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("diary_entries")}
    assert {"error_reason", "error_by", "error_at", "version"} <= columns
    engine.dispose()


def test_name_parts_start_empty_and_migrate_down_and_up_keeping_the_search_index(db_url):
    """Migration 0023 (family and given names): a patient recorded before it keeps its
    display name and no parts (nothing is split from the name); down and up again on both
    databases, and on SQLite the search index's triggers on ``patients`` still work."""
    from alembic import command

    from bontrack.store.migrate import alembic_config

    engine = make_engine(db_url)
    upgrade(engine, "0022")
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO clinics (name, created_at) VALUES ('C', CURRENT_TIMESTAMP)")
        c.exec_driver_sql(
            "INSERT INTO patients (clinic_id, mrn, display_name, birth_date, sex, flags, "
            "medications, status, version, record_version, created_at, updated_at) "
            "SELECT id, 'MRN-1', 'Ada Testperson', '1960-01-01', 'female', '[]', '[]', "
            "'active', 1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM clinics")
    upgrade(engine)
    with engine.connect() as c:
        row = c.exec_driver_sql("SELECT display_name, family_name, CAST(given_names AS TEXT) "
                                "FROM patients").one()
    assert tuple(row) == ("Ada Testperson", None, "[]")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0022")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("patients")}
    assert not {"family_name", "given_names"} & columns
    upgrade(engine)
    with engine.begin() as c:
        c.exec_driver_sql("UPDATE patients SET display_name = 'Ada Wilhelmina', "
                          "family_name = 'Wilhelmina'")
    _search_index_finds_one(engine, "helmin")
    engine.dispose()
