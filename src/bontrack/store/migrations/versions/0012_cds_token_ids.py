"""CDS Hooks: the JWT ids (jti) accepted from EHRs, kept until each token expires, so that a
replayed token is refused by every worker (issue 18 item 1).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_token_ids",
        sa.Column("issuer", sa.String(300), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cds_token_ids_expires_at", "cds_token_ids", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_cds_token_ids_expires_at", "cds_token_ids")
    op.drop_table("cds_token_ids")
