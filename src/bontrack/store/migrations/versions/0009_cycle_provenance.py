"""cycles.provenance: what another system said about an imported cycle, kept as text

Import earns no trust it did not get (issue 15): who signed or overrode a cycle elsewhere,
and the verdict and total that system claimed, are kept as lines of text ("signed in
<system> by <name> at <time>"), never as a local user's signature or override.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(sa.Column("provenance", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.drop_column("provenance")
