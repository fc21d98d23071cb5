"""Issue 16 item 5: the bulk export's byte-built NDJSON lines (``fhir/lines.py``) are the
same bytes as serialising the dict resources ($everything's and read's path, kept as the
reference), on a generated registry on SQLite and PostgreSQL, with every type and with a
``_type`` subset."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import select

from bontrack.fhir import export, tables
from bontrack.fhir.registry import REGISTRY
from bontrack.reference import default_reference
from bontrack.store.db import make_engine, reader_engine, session_factory
from tests.fhir.conftest import make_demo


def reference_ndjson(session, ctx) -> dict[str, bytes]:
    """Every resource through the dict path, serialised, one byte string per type."""
    out: dict[str, list[bytes]] = {t: [] for t in export.TYPES}
    for r in export.resources(session, ctx):
        out[r["resourceType"]].append(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE))
    return {t: b"".join(lines) for t, lines in out.items()}


def test_bulk_lines_are_the_bytes_of_the_dict_resources(db_url, tmp_path: Path):
    make_demo(db_url, patients=60)
    engine = reader_engine(make_engine(db_url))
    ref = default_reference()
    try:
        with session_factory(engine, writer=False)() as s:
            expected = reference_ndjson(s, export.context(s, ref))
            counts = export.write_ndjson(s, export.context(s, ref), tmp_path / "all", size=7)
            some = ("Observation", "Patient")
            export.write_ndjson(s, export.context(s, ref), tmp_path / "some", types=some)
            # the rows the lines read come as plain tuples (tables._tuples): the values of
            # the Rows, processed alike
            for rs in REGISTRY.rowsets:
                stmt = select(rs.table).order_by(rs.table.c.id)
                assert tables._tuples(s.execute(stmt)) == [
                    tuple(r) for r in s.execute(stmt).all()], rs.name
    finally:
        engine.dispose()
    assert [k.name for k in REGISTRY if k.lines is not None]  # the fast path is in use
    for t in export.TYPES:
        got = (tmp_path / "all" / f"{t}.ndjson").read_bytes()
        assert got == expected[t], t
        assert counts[t] == expected[t].count(b"\n")
    assert sorted(p.name for p in (tmp_path / "some").iterdir()) == [
        "Observation.ndjson", "Patient.ndjson"]
    for t in some:
        assert (tmp_path / "some" / f"{t}.ndjson").read_bytes() == expected[t]
    assert expected["Observation"] and expected["MedicationAdministration"]

