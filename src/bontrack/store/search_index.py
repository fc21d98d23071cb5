"""The patient search index: database objects made by migration 0013 that the SQLAlchemy
models do not describe (an FTS5 virtual table on SQLite, trigram GIN indexes on PostgreSQL).
Named here so the models-and-migrations test can leave them out of its comparison."""

from __future__ import annotations

#: SQLite FTS5 table (trigram tokenizer, external content = ``patients``).
FTS_TABLE = "patients_search"

#: Tables and indexes outside the models: the FTS table, its shadow tables, the trigram
#: indexes.
NOT_IN_MODELS = frozenset({
    FTS_TABLE, *(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config", "content")),
    "ix_patients_mrn_trgm", "ix_patients_display_name_trgm",
})


#: The escape character of every LIKE pattern built by ``like_literal``.
LIKE_ESCAPE = "\\"


def like_literal(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern: ``%`` and ``_`` (and the escape
    character itself) match themselves, not any characters. Use with ``escape=LIKE_ESCAPE``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
