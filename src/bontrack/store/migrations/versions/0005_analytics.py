"""analytics: derived per-cycle rows (intervals, waste, responses, side effects), their daily
roll-ups for the clinic queries, and an index of side effects by cycle

Revision ID: 0005
Revises: 0004
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _group_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("clinic_id", sa.Integer(), nullable=False),
            sa.Column("date", sa.Date(), nullable=False),
            sa.Column("product", sa.String(40), nullable=False),
            sa.Column("indication", sa.String(64), nullable=False),
            sa.Column("clinician_id", sa.Integer(), nullable=False)]


#: the daily roll-up tables: name -> (column, type, nullable)
DAILY: dict[str, list[tuple[str, Any, bool]]] = {
    "cycles": [("cycles", sa.Integer(), False), ("units_discarded", sa.Numeric(12, 3), True),
               ("units_opened", sa.Numeric(12, 3), True), ("vials", sa.Integer(), False)],
    "responses": [("scale", sa.String(40), False), ("responder", sa.Boolean(), True),
                  ("duration_kind", sa.String(12), False),
                  ("duration_days", sa.Integer(), True), ("n", sa.Integer(), False)],
    "intervals": [("interval_days", sa.Integer(), False), ("early", sa.Boolean(), True),
                  ("n", sa.Integer(), False)],
    "effects": [("term", sa.String(200), False), ("n", sa.Integer(), False)],
}


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
        sa.Column("units_discarded", sa.Numeric(12, 3), nullable=True),
        sa.Column("units_opened", sa.Numeric(12, 3), nullable=False),
        sa.Column("vials", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"],
                                name="fk_analytics_cycles_cycle_id_cycles"),
        sa.PrimaryKeyConstraint("cycle_id", name="pk_analytics_cycles"),
    )
    op.create_index("ix_analytics_cycles_clinic_date", "analytics_cycles",
                    ["clinic_id", "date"])
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
    op.create_index("ix_analytics_responses_clinic_date", "analytics_responses",
                    ["clinic_id", "date"])
    op.create_index("ix_analytics_responses_patient_id", "analytics_responses",
                    ["patient_id"])
    op.create_table(
        "analytics_effects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        *_group_columns(),
        sa.Column("term", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"],
                                name="fk_analytics_effects_cycle_id_cycles"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_effects"),
    )
    op.create_index("ix_analytics_effects_clinic_date", "analytics_effects",
                    ["clinic_id", "date"])
    op.create_index("ix_analytics_effects_patient_id", "analytics_effects", ["patient_id"])
    for name, columns in DAILY.items():
        table = f"analytics_daily_{name}"
        op.create_table(table, sa.Column("id", sa.Integer(), nullable=False),
                        *_group_columns(),
                        *[sa.Column(n, t, nullable=null) for n, t, null in columns],
                        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"))
        op.create_index(f"ix_{table}_clinic_date", table, ["clinic_id", "date"])
    # the refresh reads side effects by cycle, and finds changed records from an index
    op.create_index("ix_side_effects_cycle_id", "side_effects", ["cycle_id"])
    op.create_index("ix_patients_clinic_version", "patients",
                    ["clinic_id", "id", "record_version"])


def downgrade() -> None:
    op.drop_index("ix_patients_clinic_version", "patients")
    op.drop_index("ix_side_effects_cycle_id", "side_effects")
    for name in DAILY:
        op.drop_table(f"analytics_daily_{name}")
    op.drop_table("analytics_effects")
    op.drop_table("analytics_responses")
    op.drop_table("analytics_cycles")
    op.drop_table("analytics_versions")
