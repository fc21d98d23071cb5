"""patients.family_name and patients.given_names: a patient's name in parts, as an EHR holds
it (FHIR HumanName ``family`` / ``given``; US Core, issue 18 item 4). Both optional: the
patients already here keep their one ``display_name`` and empty parts (nothing is guessed
from the display name: "Maria José da Silva" has no safe split).

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = ("family_name", "given_names")


def upgrade() -> None:
    # plain ADD COLUMN on both databases: no copy of the table (SQLite's batch mode would
    # rebuild ``patients`` and lose the search index's triggers, migration 0013)
    op.add_column("patients", sa.Column("family_name", sa.String(200), nullable=True))
    op.add_column("patients", sa.Column("given_names", sa.JSON(), nullable=False,
                                        server_default="[]"))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (again keeping the triggers of 0013)
    for column in COLUMNS:
        op.execute(f"ALTER TABLE patients DROP COLUMN {column}")
