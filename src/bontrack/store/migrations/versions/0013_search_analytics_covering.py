"""Covering indexes for the clinic analytics queries (issue 16 item 6)

Each clinic query (analytics/clinic.py) groups one daily roll-up table by a few columns and
filters it by clinic, date, indication, product and clinician. With only (clinic_id, date)
indexed the database looked up every roll-up row in the table and sorted the groups; these
indexes hold every column a query reads, led by its GROUP BY columns, so the query reads the
index alone in group order (EXPLAIN: "USING COVERING INDEX", no temp B-tree; on PostgreSQL an
index-only scan). The roll-up rows are derived, so no data changes.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COVERING = {
    "analytics_daily_cycles": {
        "cx_analytics_daily_cycles_groups": ["clinic_id", "indication", "product", "date",
                                             "clinician_id", "cycles"],
        "cx_analytics_daily_cycles_waste": ["clinic_id", "product", "date", "indication",
                                            "clinician_id", "vials", "units_discarded",
                                            "units_opened"]},
    "analytics_daily_responses": {
        "cx_analytics_daily_responses_responders": ["clinic_id", "indication", "product",
                                                    "scale", "responder", "date",
                                                    "clinician_id", "n"],
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


def upgrade() -> None:
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
