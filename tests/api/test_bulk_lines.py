"""Issue 16 item 5: the bulk export's byte-built lines equal the dict path's bytes on the
branches a generated registry never draws (tests/fhir/test_ndjson_lines.py has the rest).
On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from bontrack.fhir import export
from bontrack.reference import default_reference
from bontrack.store.db import make_engine, reader_engine, session_factory
from tests.fhir.test_ndjson_lines import reference_ndjson


def test_bulk_lines_match_on_the_rare_branches_too(api, tmp_path: Path):
    """Guidance, a region, a side without a muscle, records entered in error, a vial with
    no lot, expiry or dilution, an injection without a volume: rows the demo never draws."""
    import sqlalchemy as sa

    from tests.api.fhir_records import full_record

    full_record(api)
    writer = make_engine(api.url)  # the reader engine below refuses writes (NeedsWriter)
    with writer.begin() as c:
        c.execute(sa.text("UPDATE outcomes SET status = 'entered_in_error' WHERE id = "
                          "(SELECT min(id) FROM outcomes)"))
        c.execute(sa.text("UPDATE cycles SET status = 'entered_in_error' WHERE id = "
                          "(SELECT min(id) FROM cycles)"))
        c.execute(sa.text("UPDATE vials SET lot = '', expiry = NULL, diluent_ml = NULL "
                          "WHERE id = (SELECT min(id) FROM vials)"))
        c.execute(sa.text("UPDATE injections SET volume_ml = NULL WHERE id = "
                          "(SELECT min(id) FROM injections)"))
    writer.dispose()
    engine = reader_engine(make_engine(api.url))
    ref = default_reference()
    try:
        with session_factory(engine, writer=False)() as s:
            expected = reference_ndjson(s, export.context(s, ref))
            export.write_ndjson(s, export.context(s, ref), tmp_path)
    finally:
        engine.dispose()
    text = b"".join(expected.values())
    for branch in (b'/guidance"', b'/region"', b'"entered-in-error"',
                   b'"bodySite":{"extension"'):
        assert branch in text, branch
    for t in export.TYPES:
        assert (tmp_path / f"{t}.ndjson").read_bytes() == expected[t], t
