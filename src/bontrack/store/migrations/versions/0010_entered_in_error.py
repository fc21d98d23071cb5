"""Entered in error for outcomes, goals, side effects and diary entries

Each of these records can be marked entered in error (never deleted): who (``error_by``, a
user id), when (``error_at``) and why (``error_reason``). Outcomes, side effects and diary
entries get a ``version`` (goals have one) so that the mark is version-checked like a
cycle's amendment.

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("outcomes", "goals", "side_effects", "diary_entries")
VERSIONED = ("outcomes", "side_effects", "diary_entries")


# Plain ALTER TABLE on both databases (SQLite >= 3.35 drops a column in place). ``error_by``
# holds a user id without a foreign key: SQLite cannot drop a column named in one, and a
# batch copy of the table would be refused by the foreign keys pointing at it.
def upgrade() -> None:
    for table in VERSIONED:
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False,
                                       server_default="1"))
    for table in TABLES:
        op.add_column(table, sa.Column("error_reason", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("error_by", sa.Integer(), nullable=True))
        op.add_column(table, sa.Column("error_at", sa.DateTime(timezone=True),
                                       nullable=True))


def downgrade() -> None:
    for table in TABLES:
        for column in ("error_at", "error_by", "error_reason"):
            op.drop_column(table, column)
    for table in VERSIONED:
        op.drop_column(table, "version")
