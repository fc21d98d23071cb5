"""audit_events: the chain's own order (chain_seq), filled once by the chainer

Requests insert their audit events unchained (chain_seq NULL, empty hashes) in their own
transaction, without a lock; one chainer (``store.audit_chain.chain_pending``) later gives
each committed event its place in the chain, prev_hash and hash, in one ordered pass. The
append-only triggers now allow exactly that one change: the chain fields of an event that has
none yet, every other column unchanged. Events already there were chained in id order, so
their chain_seq is their id.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

#: Every column the chain covers, which the one allowed update must leave as it was.
COLUMNS = ("id", "at", "user_id", "clinic_id", "action", "entity", "entity_id", "patient_id",
           "outcome", "detail")


def _unchanged() -> str:
    return " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in COLUMNS)


def _sqlite_unchanged() -> str:
    return " AND ".join(f"NEW.{c} IS OLD.{c}" for c in COLUMNS)


def _drop_triggers(pg: bool) -> None:
    if pg:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    _drop_triggers(pg)
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_events SET chain_seq = id")
    op.create_index("ix_audit_events_chain_seq", "audit_events", ["chain_seq"], unique=True)
    # the chainer's work list: only events not chained yet
    op.create_index("ix_audit_events_unchained", "audit_events", ["id"],
                    postgresql_where=sa.text("chain_seq IS NULL"),
                    sqlite_where=sa.text("chain_seq IS NULL"))
    if pg:
        op.execute(f"""
            CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL
                   AND NEW.hash <> '' AND {_unchanged()} THEN
                    RETURN NEW;  -- the chainer places an unchained event, once
                END IF;
                RAISE EXCEPTION 'audit_events is append-only';
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON "
                   "audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()")
        return
    op.execute(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"WHEN NOT (OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL AND NEW.hash <> '' "
        f"AND {_sqlite_unchanged()}) "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
    op.execute("CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
               "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    _drop_triggers(pg)
    op.drop_index("ix_audit_events_unchained", "audit_events")
    op.drop_index("ix_audit_events_chain_seq", "audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("chain_seq")
    if pg:
        op.execute("""
            CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only';
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON "
                   "audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON "
                   "audit_events BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
