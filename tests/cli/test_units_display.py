"""The readable report shows units per site to 0.1 U; the JSON keeps the exact value."""

from __future__ import annotations

import json

from tests.cli.test_check_command import bontrack, write

PLAN = {"date": "2026-11-24", "patient": {"age_years": 50}, "product": "Botox",
        "indication": "upper_limb_spasticity",
        "vials": [{"size_units": 100, "diluent_ml": 2.0}],
        "injections": [{"muscle": "biceps_brachii", "side": "left", "units": 50,
                        "sites": 3}]}


def test_units_per_site_are_a_tenth_of_a_unit_in_the_table_and_exact_in_json(tmp_path):
    path = write(tmp_path, PLAN)
    table = bontrack("check", path)
    assert table.returncode == 0, table.stderr
    assert "16.7" in table.stdout and "16.66" not in table.stdout
    doc = json.loads(bontrack("check", path, "--json").stdout)
    assert doc["preparation"]["per_injection"][0]["units_per_site"] == 16.6667
