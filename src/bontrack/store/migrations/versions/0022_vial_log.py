"""The clinic's vial log (issue 17 item 9): a reconstituted vial drawn from for several
patients' cycles (``clinic_vials``, ``vial_draws``); closed vials keep the units discarded.
Never deleted: wrong rows are marked entered in error with a reason.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UNITS = sa.Numeric(12, 3)


def _withdrawable() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("error_reason", sa.Text(), nullable=True),
            sa.Column("error_by", sa.Integer(), nullable=True),
            sa.Column("error_at", sa.DateTime(timezone=True), nullable=True)]


def upgrade() -> None:
    op.create_table(
        "clinic_vials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(40), nullable=False),
        sa.Column("size_units", UNITS, nullable=False),
        sa.Column("diluent_ml", sa.Numeric(8, 3), nullable=True),
        sa.Column("lot", sa.String(64), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("reconstituted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reconstituted_by", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("units_discarded", UNITS, nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_withdrawable(),
        sa.CheckConstraint("status IN ('open', 'closed', 'entered_in_error')",
                           name=op.f("ck_clinic_vials_status")),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"],
                                name=op.f("fk_clinic_vials_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["reconstituted_by"], ["users.id"],
                                name=op.f("fk_clinic_vials_reconstituted_by_users")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_clinic_vials_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_vials")),
    )
    op.create_index("ix_clinic_vials_clinic_status", "clinic_vials", ["clinic_id", "status"])
    op.create_index("ix_clinic_vials_lot", "clinic_vials", ["lot"])
    op.create_table(
        "vial_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vial_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("units", UNITS, nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drawn_by", sa.Integer(), nullable=False),
        sa.Column("time_check", sa.String(20), nullable=False),
        sa.Column("time_check_text", sa.Text(), nullable=False),
        sa.Column("override_codes", sa.String(200), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_withdrawable(),
        sa.CheckConstraint("status IN ('active', 'entered_in_error')",
                           name=op.f("ck_vial_draws_status")),
        sa.ForeignKeyConstraint(["vial_id"], ["clinic_vials.id"],
                                name=op.f("fk_vial_draws_vial_id_clinic_vials")),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"],
                                name=op.f("fk_vial_draws_cycle_id_cycles")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_vial_draws_patient_id_patients")),
        sa.ForeignKeyConstraint(["drawn_by"], ["users.id"],
                                name=op.f("fk_vial_draws_drawn_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vial_draws")),
    )
    op.create_index("ix_vial_draws_vial_id", "vial_draws", ["vial_id"])
    op.create_index("ix_vial_draws_cycle_id", "vial_draws", ["cycle_id"])
    op.create_index("ix_vial_draws_patient_id", "vial_draws", ["patient_id"])


def downgrade() -> None:
    op.drop_table("vial_draws")
    op.drop_table("clinic_vials")
