"""vials.reconstituted_at becomes a timestamp with time zone, like every other timestamp

Every timestamp is stored in UTC (``store/types.py``). On PostgreSQL this was the one column
of type ``timestamp`` (no zone): its values are taken as UTC, which is what bontrack wrote.
SQLite has one type for both, so nothing changes there.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("vials", "reconstituted_at", type_=sa.DateTime(timezone=True),
                        postgresql_using="reconstituted_at AT TIME ZONE 'UTC'")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("vials", "reconstituted_at", type_=sa.DateTime(timezone=False),
                        postgresql_using="reconstituted_at AT TIME ZONE 'UTC'")
