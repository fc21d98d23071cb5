"""triage stored with side effects and diary entries: level and result; diary red flags

Existing rows are triaged here with the rule and reference data installed at upgrade time,
so a diary entry written before triage reached the clinic's list ("trouble swallowing") now
does. A red flag recorded before is never dropped: the old flags stay in ``red_flags``.

Revision ID: 0007
Revises: 0006
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("side_effects") as batch:
        batch.add_column(sa.Column("triage_level", sa.String(12), nullable=True))
        batch.add_column(sa.Column("triage", sa.JSON(), nullable=True))
    with op.batch_alter_table("diary_entries") as batch:
        batch.add_column(sa.Column("red_flags", sa.JSON(), nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("triage_level", sa.String(12), nullable=True))
        batch.add_column(sa.Column("triage", sa.JSON(), nullable=True))
    op.create_index("ix_side_effects_triage_level", "side_effects", ["triage_level"])
    op.create_index("ix_diary_entries_triage_level", "diary_entries", ["triage_level"])
    _triage_existing()


def _triage_existing() -> None:
    from bontrack.reference import default_reference
    from bontrack.services.triage import triage_texts

    ref = default_reference()
    conn = op.get_bind()
    meta = sa.MetaData()
    se = sa.Table("side_effects", meta, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("term", sa.String), sa.Column("red_flags", sa.JSON),
                  sa.Column("triage_level", sa.String), sa.Column("triage", sa.JSON))
    de = sa.Table("diary_entries", meta, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("side_effects", sa.Text), sa.Column("note", sa.Text),
                  sa.Column("red_flags", sa.JSON), sa.Column("triage_level", sa.String),
                  sa.Column("triage", sa.JSON))

    def update(table: sa.Table, rows: list[tuple[int, list[str], list[str]]]) -> None:
        values: list[dict[str, Any]] = []
        for rid, texts, old_flags in rows:
            doc = triage_texts(texts, ref)
            flags = list(dict.fromkeys([*(old_flags or []), *(f["id"] for f in doc["flags"])]))
            level = "urgent" if flags else doc["level"]
            values.append({"rid": rid, "red_flags": flags, "triage_level": level,
                           "triage": doc})
        if values:
            conn.execute(table.update().where(table.c.id == sa.bindparam("rid"))
                         .values(red_flags=sa.bindparam("red_flags"),
                                 triage_level=sa.bindparam("triage_level"),
                                 triage=sa.bindparam("triage")), values)

    last = 0
    while True:
        got = conn.execute(sa.select(se.c.id, se.c.term, se.c.red_flags).where(se.c.id > last)
                           .order_by(se.c.id).limit(BATCH)).all()
        if not got:
            break
        update(se, [(r.id, [r.term or ""], list(r.red_flags or [])) for r in got])
        last = got[-1].id
    last = 0
    while True:
        got = conn.execute(sa.select(de.c.id, de.c.side_effects, de.c.note)
                           .where(de.c.id > last).order_by(de.c.id).limit(BATCH)).all()
        if not got:
            break
        update(de, [(r.id, [r.side_effects or "", r.note or ""], []) for r in got])
        last = got[-1].id


def downgrade() -> None:
    op.drop_index("ix_diary_entries_triage_level", "diary_entries")
    op.drop_index("ix_side_effects_triage_level", "side_effects")
    with op.batch_alter_table("diary_entries") as batch:
        batch.drop_column("triage")
        batch.drop_column("triage_level")
        batch.drop_column("red_flags")
    with op.batch_alter_table("side_effects") as batch:
        batch.drop_column("triage")
        batch.drop_column("triage_level")
