"""Migration 0016 on SQLite and PostgreSQL: conditions and goals changed before they kept a
version and a time of change get them from the audit trail (FHIR meta.versionId and
meta.lastUpdated must be true for old records too)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from bontrack.reference import default_reference
from bontrack.services import accounts, conditions, records
from bontrack.services.schemas import ConditionIn, ConditionPatch, GoalIn, GoalScoreIn, PatientIn
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import alembic_config, upgrade


def test_upgrade_takes_earlier_changes_from_the_audit_trail(db_url):
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
        changed = records.add_condition(s, actor, p.id, ConditionIn(
            indication="cervical_dystonia"), ref)
        kept = records.add_condition(s, actor, p.id, ConditionIn(
            indication="blepharospasm"), ref)
        goal = records.add_goal(s, actor, p.id, GoalIn(description="Walk to the shop"))
        s.flush()
        ids = changed.id, kept.id, goal.id
        conditions.update_condition(s, actor, changed.id, ConditionPatch(note="left side"))
        conditions.update_condition(s, actor, changed.id, ConditionPatch(note="left side"))
        conditions.update_condition(s, actor, kept.id, ConditionPatch())  # nothing changed
        records.score_goal(s, actor, goal.id, GoalScoreIn(attainment=1), 1)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT version FROM conditions ORDER BY id")
                         ).scalars().all() == [2, 1]
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:  # back to a database made before conditions had versions
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
    upgrade(engine)
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT id, version, updated_at FROM conditions ORDER BY id")
                         ).all()
        goal_changed = c.execute(sa.text("SELECT updated_at FROM goals WHERE id = :g"),
                                 {"g": ids[2]}).scalar()

        def last(entity: str, rid: int, detail: str = "") -> object:
            return c.execute(sa.text(
                "SELECT max(at) FROM audit_events WHERE entity = :e AND entity_id = :i "
                "AND action = 'update' AND detail LIKE :d"),
                {"e": entity, "i": rid, "d": f"{detail}%"}).scalar()

        assert rows[0].version == 2 and rows[0].updated_at == last("condition", ids[0],
                                                                    "changed: note")
        assert rows[1].version == 1 and rows[1].updated_at is None
        assert goal_changed is not None and goal_changed == last("goal", ids[2])
    engine.dispose()
