"""Issue 15, item 5: a cell a spreadsheet would run as a formula is neutralised (OWASP: a
leading single quote) in every CSV bontrack writes; genuine numbers stay numbers."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from bontrack.analytics import charts as ch
from bontrack.spreadsheet import neutralise, safe
from tests.api.conftest import api  # noqa: F401  (the API over SQLite and PostgreSQL)
from tests.fhir.test_export import cli

PAYLOAD = "=cmd|' /C calc'!A0"


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_patients_formula_term_is_neutralised_in_the_real_csv_export(api, tmp_path):  # noqa: F811
    p = api.ids["p1"]
    # (a leading tab or carriage return is stripped by the API's input rules; the unit test
    # below covers them)
    for term in (PAYLOAD, "+1+1", "-2+3", "@SUM(A1)", "hives"):
        r = api.post("pat", f"/api/v1/patients/{p}/side-effects",
                     {"term": term, "onset": "2026-11-20", "severity": "mild"})
        assert r.status_code == 201, r.text
    r = api.post("nurse", f"/api/v1/patients/{p}/outcomes",
                 {"scale": "pain_nrs", "value": "3", "measured_at": "2026-11-30T10:00:00Z",
                  "region": "=HYPERLINK(\"http://x\")"})
    assert r.status_code == 201, r.text
    out = tmp_path / "csv"
    r = cli("export", "csv", str(out), "--db", api.url)
    assert r.returncode == 0, r.stderr
    terms = [row["term"] for row in read(out / "side_effects.csv")]
    assert f"'{PAYLOAD}" in terms and PAYLOAD not in terms
    assert {"'+1+1", "'-2+3", "'@SUM(A1)", "hives"} <= set(terms)
    for name in ("cycles", "injections", "outcomes", "side_effects", "data_dictionary"):
        for row in read(out / f"{name}.csv"):
            for column, value in row.items():
                assert not value.startswith(("=", "+", "@", "\t", "\r")), (name, column, value)
    regions = [row["region"] for row in read(out / "outcomes.csv")]
    assert "'=HYPERLINK(\"http://x\")" in regions


def test_numbers_stay_numbers_and_text_that_looks_like_one_is_neutralised():
    assert safe(Decimal("-2")) == "-2" and safe(-1.5) == "-1.5" and safe(-3) == "-3"
    assert safe("-2") == "'-2"
    assert safe(True) == "True" and safe(None) == ""
    assert neutralise("hives") == "hives" and neutralise("") == ""
    for start in "=+-@\t\r":
        assert neutralise(start + "x") == "'" + start + "x"


def test_chart_csv_neutralises_text_and_keeps_negative_numbers():
    header, rows = ch.side_effect_rows([{
        "indication": "cervical_dystonia", "product": "onabotulinumtoxinA", "term": PAYLOAD,
        "cycles_with": 1, "cycles": 3, "per_100_cycles": 33.3, "label_percent": None,
        "label_source": None}])
    text = ch.to_csv(header, rows).decode()
    row = next(csv.DictReader(text.splitlines()))
    assert row["term"] == f"'{PAYLOAD}" and row["per_100_cycles"] == "33.3"
    text = ch.to_csv(["site", "change"], [["@x", -2], ["elbow", Decimal("-0.5")]]).decode()
    assert text.splitlines()[1:] == ["'@x,-2", "elbow,-0.5"]


@pytest.mark.parametrize("value", [PAYLOAD, "-", "+", "@"])
def test_neutralised_cells_read_back_with_the_quote(value):
    assert neutralise(value) == "'" + value
