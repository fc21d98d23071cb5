"""Migration 0007 on SQLite and PostgreSQL: side effects and diary entries made before triage
was stored are triaged on upgrade, so an old diary red flag reaches the clinic's list, and a
red flag recorded earlier is never dropped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command

from bontrack.reference import default_reference
from bontrack.services import accounts, records
from bontrack.services.schemas import PatientIn
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import alembic_config, upgrade
from bontrack.store.models import DiaryEntry, SideEffect


def test_upgrade_triages_earlier_diary_entries_and_side_effects(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    ref = default_reference()
    with transaction(session_factory(engine)) as s:
        clinic = accounts.get_or_create_clinic(s, "Clinic A")
        doc = accounts.add_user(s, clinic=clinic, username="doc", password="correct horse battery",
                                role="clinician")
        actor = accounts.actor_of(doc)
        p = records.create_patient(s, actor, PatientIn(mrn="M-1", display_name="Pat Migr",
                                                       birth_date="1970-01-01"), ref)
        s.flush()
        now = datetime(2026, 11, 1, tzinfo=UTC)
        for text in ("trouble swallowing since yesterday, choking on water", "eyes feel funny",
                     "walked to the shop"):
            s.add(DiaryEntry(patient_id=p.id, entry_date=date(2026, 11, 1), note=text,
                             created_by=doc.id, created_at=now, status="active"))
        s.add(SideEffect(patient_id=p.id, term="drooping eyelids", onset=date(2026, 11, 1),
                         severity="mild", red_flags=[], reported_by=doc.id, reported_at=now))
        s.add(SideEffect(patient_id=p.id, term="sore arm", onset=date(2026, 11, 1),
                         severity="mild", red_flags=["speech"], reported_by=doc.id,
                         reported_at=now))
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:  # back to a database made before triage was stored
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    with engine.connect() as c:
        cols = {col["name"] for col in sa.inspect(c).get_columns("diary_entries")}
        assert "triage_level" not in cols
    upgrade(engine)
    with engine.connect() as c:
        diary = c.execute(sa.text("SELECT note, triage_level FROM diary_entries ORDER BY id")
                          ).all()
        effects = c.execute(sa.text("SELECT term, triage_level, red_flags FROM side_effects "
                                    "ORDER BY id")).all()
    assert [level for _, level in diary] == ["urgent", "unclear", "not_urgent"]
    assert [r.triage_level for r in effects] == ["urgent", "urgent"]
    flags = [r.red_flags if isinstance(r.red_flags, list) else json.loads(r.red_flags)
             for r in effects]
    assert flags == [["drooping_eyelids"], ["speech"]]  # an earlier flag is kept
    with transaction(session_factory(engine)) as s:
        rows = records.clinic_reports(s, actor)
    assert [r["level"] for r in rows] == ["urgent", "urgent", "urgent", "unclear"]
    assert ("diary", ["swallowing"]) in [(r["kind"], r["red_flags"]) for r in rows[:3]]
    engine.dispose()
