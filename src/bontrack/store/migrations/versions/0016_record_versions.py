"""FHIR versioning (issue 18 item 2): a condition gets a version and a time of its last
change, a goal the time of its last change, so every FHIR resource carries a true
``meta.versionId`` and ``meta.lastUpdated``.

Existing rows are filled from the audit trail, the one record of their earlier changes:
a condition's version is 1 plus its ``update`` events that changed something, and its
``updated_at`` (and a goal's) the time of its latest ``update`` or ``entered_in_error``
event. A row never changed keeps ``updated_at`` NULL: its creation time is its last update.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conditions", sa.Column("version", sa.Integer(), nullable=False,
                                          server_default="1"))
    for table in ("conditions", "goals"):
        op.add_column(table, sa.Column("updated_at", sa.DateTime(timezone=True),
                                       nullable=True))
    op.execute(
        "UPDATE conditions SET "
        "version = 1 + (SELECT count(*) FROM audit_events a WHERE a.entity = 'condition' "
        "AND a.entity_id = conditions.id AND a.action = 'update' "
        "AND a.outcome = 'ok' AND a.detail <> 'changed: nothing'), "
        "updated_at = (SELECT max(a.at) FROM audit_events a WHERE a.entity = 'condition' "
        "AND a.entity_id = conditions.id AND a.action = 'update' "
        "AND a.outcome = 'ok' AND a.detail <> 'changed: nothing')")
    op.execute(
        "UPDATE goals SET updated_at = (SELECT max(a.at) FROM audit_events a "
        "WHERE a.entity = 'goal' AND a.entity_id = goals.id AND a.outcome = 'ok' "
        "AND a.action IN ('update', 'entered_in_error'))")


def downgrade() -> None:
    with op.batch_alter_table("goals") as batch:
        batch.drop_column("updated_at")
    with op.batch_alter_table("conditions") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("version")
