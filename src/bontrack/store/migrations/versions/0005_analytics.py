"""analytics: derived per-cycle rows (intervals, responses) and indexes for clinic queries

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_versions",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name="fk_analytics_versions_patient_id_patients"),
        sa.PrimaryKeyConstraint("patient_id", name="pk_analytics_versions"),
    )
    op.create_table(
        "analytics_cycles",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("product", sa.String(40), nullable=False),
        sa.Column("indication", sa.String(64), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=True),
        sa.Column("early", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"],
                                name="fk_analytics_cycles_cycle_id_cycles"),
        sa.PrimaryKeyConstraint("cycle_id", name="pk_analytics_cycles"),
    )
    op.create_index("ix_analytics_cycles_clinic_groups", "analytics_cycles",
                    ["clinic_id", "indication", "interval_days", "early", "date", "product",
                     "clinician_id"])
    op.create_index("ix_analytics_cycles_patient_id", "analytics_cycles", ["patient_id"])
    op.create_table(
        "analytics_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("product", sa.String(40), nullable=False),
        sa.Column("indication", sa.String(64), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("scale", sa.String(40), nullable=False),
        sa.Column("site", sa.String(80), nullable=False),
        sa.Column("responder", sa.Boolean(), nullable=True),
        sa.Column("improvement", sa.Numeric(10, 3), nullable=True),
        sa.Column("duration_days", sa.Integer(), nullable=True),
        sa.Column("duration_kind", sa.String(12), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"],
                                name="fk_analytics_responses_cycle_id_cycles"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_responses"),
    )
    op.create_index("ix_analytics_responses_clinic_groups", "analytics_responses",
                    ["clinic_id", "indication", "product", "scale", "responder",
                     "duration_kind", "duration_days", "date", "clinician_id"])
    op.create_index("ix_analytics_responses_patient_id", "analytics_responses",
                    ["patient_id"])
    # clinic queries join side effects to their cycle, and count cycles per group
    op.create_index("ix_side_effects_cycle_id", "side_effects", ["cycle_id"])
    op.create_index("ix_cycles_clinic_groups", "cycles",
                    ["clinic_id", "indication", "product", "status", "date", "clinician_id"])


def downgrade() -> None:
    op.drop_index("ix_cycles_clinic_groups", "cycles")
    op.drop_index("ix_side_effects_cycle_id", "side_effects")
    op.drop_table("analytics_responses")
    op.drop_table("analytics_cycles")
    op.drop_table("analytics_versions")
