# ruff: noqa: E501
"""audit_events: hash chain (prev_hash, hash), computed for the events already there

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from bontrack.store.audit_chain import GENESIS, event_hash

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _triggers(create: bool) -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events")
        if create:
            op.execute(
                "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{verb.lower()}")
        if create:
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")


def upgrade() -> None:
    _triggers(create=False)
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, at, user_id, clinic_id, action, entity, entity_id, patient_id, outcome, "
        "detail FROM audit_events ORDER BY id")).all()
    prev = GENESIS
    for r in rows:
        at = r.at if not isinstance(r.at, str) else __import__("datetime").datetime.fromisoformat(r.at)
        h = event_hash(prev, at, r.user_id, r.clinic_id, r.action, r.entity, r.entity_id,
                       r.patient_id, r.outcome, r.detail)
        conn.execute(sa.text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
                     {"p": prev, "h": h, "i": r.id})
        prev = h
    _triggers(create=True)


def downgrade() -> None:
    _triggers(create=False)
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    _triggers(create=True)
