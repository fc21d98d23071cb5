"""Import earns no trust it did not get (issue 15, the outside tester's findings): a file
cannot sign a cycle in a local clinician's name, override a stop in his name, claim a
verdict or a total; the API's input rules apply; the input is streamed with a size limit.
SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import os
from pathlib import Path

import sqlalchemy as sa

from bontrack.fhir.reading import scan_input
from bontrack.fhir.registry import REGISTRY
from tests.fhir.test_export import cli
from tests.fhir.test_import import empty_clinic, foreign_record, write_bundle

SD = "https://fhir.bontrack.org/StructureDefinition/"
USERS = (("admin", "admin"), ("dr.lee", "clinician"))
LEE = {"type": "Practitioner", "display": "Dr Lee",
       "identifier": {"system": "https://fhir.bontrack.org/NamingSystem/username",
                      "value": "dr.lee"}}


def _dose(units: int) -> dict:
    return {"value": units, "system": "http://unitsofmeasure.org", "code": "[arb'U]"}


def forged() -> list[dict]:
    """The tester's file: 3000 U in one muscle (3235 U in all), a stored total of 5000, a
    verdict "ok", signed by dr.lee and a stop override in his name."""
    res = foreign_record()
    proc = res[2]
    proc["extension"] = [
        {"url": SD + "plan-check", "extension": [{"url": "verdict", "valueCode": "ok"},
                                                 {"url": "reference-version",
                                                  "valueString": "2026.1.1"}]},
        {"url": SD + "total-units", "valueQuantity": _dose(5000)},
        {"url": SD + "signature", "extension": [
            {"url": "by", "valueReference": LEE},
            {"url": "at", "valueDateTime": "2026-03-02T10:00:00Z"}]},
        {"url": SD + "override", "extension": [
            {"url": "code", "valueCode": "MAX_SESSION_DOSE_EXCEEDED"},
            {"url": "reason", "valueString": "trust me, I am the file"},
            {"url": "by", "valueReference": LEE},
            {"url": "at", "valueDateTime": "2026-03-02T10:00:00Z"}]},
    ]
    res[4]["dosage"]["dose"] = _dose(3000)
    second = json.loads(json.dumps(res[4]))
    second["id"] = "a-2"
    second["dosage"]["site"]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = \
        "24028007"  # right
    second["dosage"]["dose"] = _dose(235)
    return [*res, second]


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        rows = [tuple(r) for r in c.execute(sa.text(sql))]
    engine.dispose()
    return rows


def test_a_file_cannot_sign_override_or_judge_a_cycle(db_url, tmp_path):
    empty_clinic(db_url, users=USERS)
    r = cli("fhir", "import", str(write_bundle(tmp_path / "x.json", forged())),
            "--user", "admin", "--db", db_url)
    assert r.returncode == 0, r.stderr
    (status, verdict, total, signed_by, signed_at, created_by, provenance), = _rows(
        db_url, "SELECT c.status, c.verdict, c.total_units, c.signed_by, c.signed_at, "
        "u.username, c.provenance FROM cycles c JOIN users u ON u.id = c.created_by")
    # kept as given history, but judged by bontrack: 3000 U in one muscle is a stop
    assert status == "signed" and verdict == "stop"
    assert signed_by is None and signed_at is None  # no local signature from a file
    assert created_by == "admin"  # recorded by the importing user
    assert _rows(db_url, "SELECT count(*) FROM overrides") == [(0,)]
    stops = _rows(db_url, "SELECT code FROM cycle_findings WHERE severity = 'stop'")
    assert stops, "the stop is recorded as a finding"
    # what the file said is text, naming the system and the person
    assert "signed in x.json by Dr Lee (dr.lee) at 2026-03-02T10:00:00Z" in provenance
    assert ("override in x.json by Dr Lee (dr.lee) at 2026-03-02T10:00:00Z of "
            "MAX_SESSION_DOSE_EXCEEDED: trust me, I am the file") in provenance
    assert "verdict in x.json: ok" in provenance
    # the total is the injections' sum; the disagreement is a warning in the summary
    assert float(total) == 3235
    assert ("warning: Procedure/s-1 extension[total-units]: the file's total 5000 U "
            "disagrees with its injections (3235 U)") in r.stdout


def test_nul_and_other_input_rules_refuse_the_whole_file(db_url, tmp_path):
    empty_clinic(db_url, users=USERS)
    bad = foreign_record()
    bad[0]["identifier"][0]["value"] = "H-\x000007"
    bad[0]["name"] = [{"text": "Robin\x00 Synthetic"}]
    bad[0]["birthDate"] = "1850-02-03"
    bad[4]["dosage"]["dose"] = _dose(200_000)
    bad[5]["event"]["text"] = "x" * 300
    r = cli("fhir", "import", str(write_bundle(tmp_path / "x.json", bad)),
            "--user", "admin", "--db", db_url)
    assert r.returncode == 2, r.stdout
    err = r.stderr
    assert "Patient/pt-7 identifier[0].value: contains a control character (U+0000)" in err
    assert "Patient/pt-7 name[0].text: contains a control character (U+0000)" in err
    assert "Patient/pt-7 birthDate: 1850-02-03 is not plausible" in err
    assert "Procedure/s-1 MedicationAdministration #1 dosage.dose:" in err
    assert "AdverseEvent/e-1 event.text: String should have at most 200 characters" in err
    assert "Traceback" not in err
    assert "nothing was imported" in err
    for table in ("patients", "cycles", "side_effects", "audit_events"):
        n = _rows(db_url, f"SELECT count(*) FROM {table} "
                  + ("WHERE action = 'import'" if table == "audit_events" else ""))
        assert n == [(0,)], table


def test_a_file_over_the_size_limit_is_refused_clearly(db_url, tmp_path):
    empty_clinic(db_url, users=USERS)
    line = json.dumps(foreign_record()[0])
    path = tmp_path / "big.ndjson"
    path.write_text("\n".join(line.replace("pt-7", f"pt-{i}").replace("H-0007", f"H-{i}")
                              for i in range(12_000)) + "\n")
    assert path.stat().st_size > 2 * 1024 * 1024
    env = {"BONTRACK_IMPORT_MAX_MB": "2"}
    r = cli_env(env, "fhir", "import", str(path), "--user", "admin", "--db", db_url)
    assert r.returncode == 2
    assert "more than the import limit of 2 MB (BONTRACK_IMPORT_MAX_MB)" in r.stderr
    assert "Traceback" not in r.stderr
    bundle = write_bundle(tmp_path / "b.json", [json.loads(line)] * 20_000)
    r = cli_env({"BONTRACK_IMPORT_BUNDLE_MAX_MB": "1"}, "fhir", "import", str(bundle),
                "--user", "admin", "--db", db_url)
    assert r.returncode == 2
    assert "(a JSON Bundle)" in r.stderr and "BONTRACK_IMPORT_BUNDLE_MAX_MB" in r.stderr
    assert _rows(db_url, "SELECT count(*) FROM patients") == [(0,)]


def test_ndjson_is_imported_patient_by_patient_in_any_order(db_url, tmp_path):
    """Lines of one file in any order (administrations before their session, a patient
    last): streamed, grouped by patient, written in one transaction."""
    empty_clinic(db_url, users=USERS)
    res = foreign_record()
    other = json.loads(json.dumps(res).replace("pt-7", "pt-8").replace("H-0007", "H-0008")
                       .replace('"s-1"', '"s-2"').replace("Procedure/s-1", "Procedure/s-2")
                       .replace('"m-1"', '"m-2"').replace("Medication/m-1", "Medication/m-2")
                       .replace('"a-1"', '"a-9"').replace('"c-1"', '"c-2"')
                       .replace('"e-1"', '"e-2"'))
    lines = list(reversed(res)) + other
    path = tmp_path / "mixed.ndjson"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = cli("fhir", "import", str(path), "--user", "admin", "--db", db_url)
    assert r.returncode == 0, r.stderr
    assert "2 patient" in r.stdout and "2 cycle" in r.stdout
    assert _rows(db_url, "SELECT count(*) FROM injections") == [(2,)]


def cli_env(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return cli(*args)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_the_bundle_and_ndjson_readers_index_without_holding_ndjson(tmp_path):
    """NDJSON entries are offsets into the file (re-read on write), not resources."""
    path = tmp_path / "a.ndjson"
    path.write_text("".join(json.dumps(x) + "\n" for x in foreign_record()))
    inp, problems = scan_input(path, REGISTRY.types)
    assert problems == [] and inp.held == {}
    assert [e.key for e in inp.entries][:2] == ["Patient/pt-7", "Condition/c-1"]
    assert inp.load(inp.entries[:1])[0].resource["id"] == "pt-7"
    assert Path(inp.files[0]) == path
