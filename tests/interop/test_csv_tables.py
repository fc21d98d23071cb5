"""CSV export: the files read back with the csv module, agree with the database, follow
their data dictionary, and each column is documented in docs/csv.md."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bontrack.interop.csv_tables import TABLES
from tests.fhir.test_export import cli

ROOT = Path(__file__).resolve().parents[2]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_tables_read_back_and_match_the_database(demo_url, tmp_path):
    r = cli("export", "csv", str(tmp_path), "--db", demo_url)
    assert r.returncode == 0, r.stderr
    engine = sa.create_engine(demo_url)
    with engine.connect() as c:
        n_cycles = c.execute(sa.text("SELECT count(*) FROM cycles")).scalar_one()
        units = {(row[0], row[1]): row[2] for row in c.execute(sa.text(
            "SELECT c.product, c.id, sum(i.units) FROM cycles c JOIN injections i "
            "ON i.cycle_id = c.id GROUP BY c.product, c.id"))}
        n_se = c.execute(sa.text("SELECT count(*) FROM side_effects")).scalar_one()
    engine.dispose()
    cycles = read(tmp_path / "cycles.csv")
    injections = read(tmp_path / "injections.csv")
    assert len(cycles) == n_cycles and len(read(tmp_path / "side_effects.csv")) == n_se
    # per cycle, the injected units add up to the stored sum, always within one product
    summed: dict[tuple[str, int], Decimal] = {}
    for i in injections:
        key = (i["product"], int(i["cycle_id"]))
        summed[key] = summed.get(key, Decimal(0)) + Decimal(i["units"])
    assert summed == {k: Decimal(str(v)) for k, v in units.items()}
    by_id = {c["cycle_id"]: c for c in cycles}
    assert all(by_id[i["cycle_id"]]["product"] == i["product"] for i in injections)
    assert all(int(c["n_injections"]) >= 1 for c in cycles)
    outcomes = read(tmp_path / "outcomes.csv")
    assert {o["value_text"] for o in outcomes if o["scale"] == "modified_ashworth"} <= {
        "0", "1", "1+", "2", "3", "4"}
    assert all(o["measured_at"].endswith("+00:00") for o in outcomes)
    assert any(i["muscle_snomed"] for i in injections) or all(
        not i["muscle_snomed"] for i in injections)


def test_every_file_follows_the_dictionary_and_the_docs(sqlite_demo, tmp_path):
    assert cli("export", "csv", str(tmp_path), "--db", sqlite_demo).returncode == 0
    dictionary = read(tmp_path / "data_dictionary.csv")
    docs = (ROOT / "docs" / "csv.md").read_text()
    for table, columns in TABLES.items():
        with (tmp_path / f"{table}.csv").open(newline="") as f:
            header = next(csv.reader(f))
        assert header == [c.name for c in columns]
        listed = [d["column"] for d in dictionary if d["file"] == f"{table}.csv"]
        assert listed == header
        for name in header:
            assert f"| {name} |" in docs, f"{table}.{name} is not in docs/csv.md"
