"""Covering indexes and a responder roll-up for the clinic analytics queries (issue 16 item 6)

Each clinic query (analytics/clinic.py) groups one daily roll-up table by a few columns and
filters it by clinic, date, indication, product and clinician. With only (clinic_id, date)
indexed the database looked up every roll-up row in the table and sorted the groups; these
indexes hold every column a query reads, led by its GROUP BY columns, so the query reads the
index alone in group order (EXPLAIN: "USING COVERING INDEX", no temp B-tree; on PostgreSQL an
index-only scan). The responder query gets its own roll-up, analytics_daily_responders,
without the duration columns that multiplied its rows by four; it is filled here from
analytics_daily_responses and kept by the projection from then on.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COVERING = {
    "analytics_daily_cycles": {
        "cx_analytics_daily_cycles_groups": ["clinic_id", "indication", "product", "date",
                                             "clinician_id", "cycles"],
        "cx_analytics_daily_cycles_waste": ["clinic_id", "product", "date", "indication",
                                            "clinician_id", "vials", "units_discarded",
                                            "units_opened"]},
    "analytics_daily_responders": {
        "ix_analytics_daily_responders_clinic_date": ["clinic_id", "date"],
        "cx_analytics_daily_responders": ["clinic_id", "indication", "product", "scale",
                                          "responder", "date", "clinician_id", "n"]},
    "analytics_daily_responses": {
        "cx_analytics_daily_responses_durations": ["clinic_id", "indication", "product",
                                                   "duration_days", "duration_kind", "date",
                                                   "clinician_id", "n"]},
    "analytics_daily_intervals": {
        "cx_analytics_daily_intervals": ["clinic_id", "indication", "interval_days", "early",
                                         "date", "clinician_id", "product", "n"]},
    "analytics_daily_effects": {
        "cx_analytics_daily_effects": ["clinic_id", "indication", "product", "term", "date",
                                       "clinician_id", "n"]},
}


GROUP = ["clinic_id", "date", "product", "indication", "clinician_id"]


def upgrade() -> None:
    # The responder counts get their own roll-up without the duration columns (a quarter of
    # the rows), filled from the existing one: the same counts, summed over durations.
    op.create_table(
        "analytics_daily_responders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("product", sa.String(40), nullable=False),
        sa.Column("indication", sa.String(64), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("scale", sa.String(40), nullable=False),
        sa.Column("responder", sa.Boolean(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_daily_responders"))
    keys = ", ".join([*GROUP, "scale", "responder"])
    op.get_bind().exec_driver_sql(
        f"INSERT INTO analytics_daily_responders ({keys}, n) SELECT {keys}, sum(n) "
        f"FROM analytics_daily_responses GROUP BY {keys}")
    for table, indexes in COVERING.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns)
    # fresh statistics so the planner prefers the covering index over (clinic_id, date)
    bind = op.get_bind()
    for table in COVERING:
        bind.exec_driver_sql(f"ANALYZE {table}")


def downgrade() -> None:
    for table, indexes in COVERING.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
    op.drop_table("analytics_daily_responders")
