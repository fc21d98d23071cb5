"""outcomes.recorded_at: when an outcome was written (issue 18 item 3, Bulk ``_since``)

An outcome's FHIR ``meta.lastUpdated`` was its measurement time until withdrawn, so an
outcome entered after a Bulk Data export but measured before it never appeared in the next
``_since`` export. New outcomes (recorded through the API or imported) now keep the time
they were written; rows already here keep NULL and their measurement time stands, as
before (the audit trail's ``create`` event could tell, but an import's rows are audited
as ``import``; nothing is guessed).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outcomes", sa.Column("recorded_at", sa.DateTime(timezone=True),
                                        nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("recorded_at")
