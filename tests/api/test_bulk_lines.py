"""Issue 16 item 5: the bulk export's byte-built lines equal the dict path's bytes on the
branches a generated registry never draws (tests/fhir/test_ndjson_lines.py has the rest).
On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import orjson

from bontrack.fhir import export
from bontrack.reference import default_reference
from bontrack.store.db import make_engine, reader_engine, session_factory
from tests.fhir.test_ndjson_lines import reference_ndjson


def both_ways(url: str, out: Path) -> tuple[dict[str, bytes], bytes]:
    """The export's lines through the reference dict path (returned, per file, and joined)
    and through the bulk writer (written to ``out``)."""
    engine = reader_engine(make_engine(url))
    ref = default_reference()
    try:
        with session_factory(engine, writer=False)() as s:
            expected = reference_ndjson(s, export.context(s, ref))
            export.write_ndjson(s, export.context(s, ref), out)
    finally:
        engine.dispose()
    return expected, b"".join(expected.values())


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
    expected, text = both_ways(api.url, tmp_path)
    for branch in (b'/guidance"', b'/region"', b'"entered-in-error"',
                   b'"bodySite":{"extension"'):
        assert branch in text, branch
    for t in export.TYPES:
        assert (tmp_path / f"{t}.ndjson").read_bytes() == expected[t], t


#: text that needs escaping in JSON and in a ``%`` template: quotes, a percent sign, a
#: backslash, a control character, non-ASCII letters
ODD = "O'Brien \"Tess\" 100% \\ tab\there Zoë — 東京"


def test_bulk_lines_match_on_every_branch_of_the_byte_built_kinds(api, tmp_path: Path):
    """Issue 16 item 5: every kind whose bulk lines are built from bytes gives the bytes of
    its dict resource on the branches the demo and the record above never draw: a withdrawn
    patient with condition flags, medications, a family name and given names, one with
    neither; a withdrawn condition with an affected side and no onset or time of change; a
    withdrawn goal with no level and no target date; a session with provenance lines, no
    weight, consent not recorded and without text, a note, no vial (the product as
    ``usedCode``); a vial with a lot and no expiry, reconstitution or discard, one with an
    expiry and no lot; findings with every optional part and with none; text that needs
    escaping everywhere. A field the lines drop or change fails the comparison."""
    import sqlalchemy as sa

    from tests.api.fhir_records import full_record

    full_record(api)
    writer = make_engine(api.url)
    json = "CAST(:{} AS json)" if writer.dialect.name == "postgresql" else ":{}"
    first, last = "(SELECT min(id) FROM {})", "(SELECT max(id) FROM {})"
    with writer.begin() as c:
        def update(sql: str, **values: object) -> None:
            c.execute(sa.text(sql), values)

        update("UPDATE patients SET status = 'entered_in_error', flags = " + json.format("f")
               + ", medications = " + json.format("m") + ", family_name = :odd, "
               "given_names = " + json.format("g") + ", display_name = :odd, mrn = :odd "
               "WHERE id = " + first.format("patients"),
               f='["pregnancy", "myasthenia_gravis"]', m=f'["{ODD[:6]}", "warfarin"]',
               g='["Zoë", "Ann"]', odd=ODD)
        update("UPDATE patients SET family_name = NULL, given_names = " + json.format("g")
               + " WHERE id = " + last.format("patients"), g="[]")
        update("UPDATE conditions SET affected_side = 'left', status = 'entered_in_error', "
               "onset_date = NULL, updated_at = NULL, note = :odd WHERE id = "
               + first.format("conditions"), odd=ODD)
        update("UPDATE goals SET attainment = NULL, target_date = NULL, status = "
               "'entered_in_error', description = :odd WHERE id = " + first.format("goals"),
               odd=ODD)
        update("UPDATE vials SET cycle_id = " + first.format("cycles") + " WHERE cycle_id = "
               + last.format("cycles"))
        update("UPDATE cycles SET provenance = :p, weight_kg = NULL, consent_recorded = :no, "
               "consent_text = '', note = :odd, next_earliest_date = NULL WHERE id = "
               + last.format("cycles"), p=f"signed in X by {ODD}\nverdict in X: ok",
               no=False, odd=ODD)
        update("UPDATE vials SET lot = :odd, expiry = NULL, reconstituted_at = NULL, "
               "units_discarded = NULL WHERE id = " + last.format("vials"), odd=ODD)
        update("UPDATE vials SET lot = NULL WHERE id = " + first.format("vials"))
        update("UPDATE cycle_findings SET value = 12.5, \"limit\" = 10, unit = :u, "
               "muscle = 'biceps_brachii', side = 'left', source = :s, message = :m "
               "WHERE id = " + first.format("cycle_findings"), u='100% "U" Zoë', s=ODD, m=ODD)
        update("INSERT INTO cycle_findings (cycle_id, code, severity, message) SELECT "
               "cycle_id, 'BARE', 'info', 'no optional part' FROM cycle_findings WHERE id = "
               + first.format("cycle_findings"))
    writer.dispose()
    expected, text = both_ways(api.url, tmp_path)
    escaped = orjson.dumps(ODD)[1:-1]
    for branch in (b'/condition-flag"', b'/medication-name"', b'"family":', b'"given":',
                   b'/affected-side"', b'"lifecycleStatus":"entered-in-error"',
                   b'/provenance"', b'"valueBoolean":false', b'"usedCode"',
                   b'"note":[{"text":"' + escaped, b'"batch":{"lotNumber":"' + escaped + b'"}',
                   b'"batch":{"expirationDate"', b'"valueDecimal":12.5', b'"BARE"',
                   b'{"url":"source","valueString":"' + escaped):
        assert branch in text, branch
    assert b'"active":false' in expected["Patient"]
    assert b'"family":' not in expected["Patient"].splitlines()[-1]
    for t in export.TYPES:
        assert (tmp_path / f"{t}.ndjson").read_bytes() == expected[t], t


def test_bulk_lines_match_for_side_effects_on_their_rare_branches(api, tmp_path: Path):
    """Issue 16 item 5, third pass: AdverseEvent lines are built from bytes too. A withdrawn
    side effect with red flags, no session and an outcome bontrack does not map, and one
    with text that needs escaping, give the bytes of their dict resources."""
    import sqlalchemy as sa

    from tests.api.fhir_records import full_record

    full_record(api)
    writer = make_engine(api.url)
    json = "CAST(:f AS json)" if writer.dialect.name == "postgresql" else ":f"
    with writer.begin() as c:
        c.execute(sa.text("INSERT INTO side_effects (patient_id, cycle_id, term, onset, "
                          "severity, serious, outcome, relatedness, red_flags, reported_by, "
                          "reported_at, status, version) SELECT patient_id, cycle_id, :odd, "
                          "onset, 'severe', :yes, 'not_yet', 'unrelated', red_flags, "
                          "reported_by, reported_at, status, 3 FROM side_effects WHERE id = "
                          "(SELECT min(id) FROM side_effects)"), {"odd": ODD, "yes": True})
        c.execute(sa.text("UPDATE side_effects SET status = 'entered_in_error', error_at = "
                          "reported_at, cycle_id = NULL, red_flags = " + json + " WHERE id = "
                          "(SELECT min(id) FROM side_effects)"),
                  {"f": '["dysphagia", "breathing"]'})
    writer.dispose()
    expected, _ = both_ways(api.url, tmp_path)
    for branch in (b'/red-flag"', b'/record-status"', b'"valueCode":"dysphagia"',
                   b'"text":"' + orjson.dumps(ODD)[1:-1], b'"code":"Serious"'):
        assert branch in expected["AdverseEvent"], branch
    assert expected["AdverseEvent"].count(b"\n") == 2
    assert b'"suspectEntity"' not in expected["AdverseEvent"].splitlines()[0]
    for t in export.TYPES:
        assert (tmp_path / f"{t}.ndjson").read_bytes() == expected[t], t
