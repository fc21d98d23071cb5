"""import_links: which record each imported FHIR resource became

A re-import of the same Bundle (the same identifiers, else the same resource ids) updates the
patient found by MRN and writes no record twice: each imported resource's identity is kept
here with the record it became, per patient (docs/fhir.md, "Import").

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("identity", sa.String(400), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("patient_id", "identity", name="uq_import_links_patient_identity"),
    )
    op.create_index("ix_import_links_patient_id", "import_links", ["patient_id"])


def downgrade() -> None:
    op.drop_table("import_links")
