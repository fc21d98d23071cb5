"""The cycle diary (issue 17 item 6): the patient's answers about one signed cycle (when it
started working, when it wore off, symptoms, global impression of change). Amended answers
and answers entered in error keep their rows.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cycle_diaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("onset", sa.String(12), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("wore_off", sa.String(12), nullable=False),
        sa.Column("wore_off_date", sa.Date(), nullable=True),
        sa.Column("spasm_frequency", sa.Integer(), nullable=True),
        sa.Column("spasm_intensity", sa.Integer(), nullable=True),
        sa.Column("pain", sa.Integer(), nullable=True),
        sa.Column("global_impression", sa.Integer(), nullable=True),
        sa.Column("side_effects", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("red_flags", sa.JSON(), nullable=False),
        sa.Column("triage_level", sa.String(12), nullable=True),
        sa.Column("triage", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("replaced_by", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("error_by", sa.Integer(), nullable=True),
        sa.Column("error_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'amended', 'entered_in_error')",
                           name=op.f("ck_cycle_diaries_status")),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"],
                                name=op.f("fk_cycle_diaries_cycle_id_cycles")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_cycle_diaries_patient_id_patients")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_cycle_diaries_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_diaries")),
    )
    op.create_index("ix_cycle_diaries_patient_id", "cycle_diaries", ["patient_id"])
    op.create_index("ix_cycle_diaries_cycle_status", "cycle_diaries", ["cycle_id", "status"])


def downgrade() -> None:
    op.drop_table("cycle_diaries")
