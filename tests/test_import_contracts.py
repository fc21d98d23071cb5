"""Issue 14, item 1 (import rules): the import-linter contracts in pyproject.toml
([tool.importlinter]) hold: layers pointing inwards, edges independent of each other and
never importing a session, an engine or an ORM model (they hold units of work), the
clinical core and reference data free of frameworks, databases and the environment."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT, "--no-cache", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)


def test_the_import_contracts_hold():
    r = lint()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_the_contracts_are_the_promised_ones_and_carry_no_ignore_list():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {c["id"]: c for c in config["contracts"]}
    assert {"layers", "edges-independent", "pure-core", "edges-hold-units-of-work",
            "plumbing-holds-units-of-work"} <= set(contracts)
    edges = contracts["edges-hold-units-of-work"]
    assert set(edges["source_modules"]) == {"bontrack.app", "bontrack.api", "bontrack.web",
                                            "bontrack.cli", "bontrack.reports"}
    assert set(edges["forbidden_modules"]) == {"bontrack.store.models", "bontrack.store.db",
                                               "sqlalchemy"}
    assert not any("ignore_imports" in c for c in contracts.values())
    assert set(contracts["edges-independent"]["modules"]) == {
        "bontrack.api", "bontrack.web", "bontrack.cli"}
    assert {"fastapi", "sqlalchemy", "typer", "jinja2", "os"} <= set(
        contracts["pure-core"]["forbidden_modules"])


def test_a_broken_contract_fails(tmp_path):
    """The checker does fail: the API does import the shared request plumbing."""
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_package = "bontrack"\n\n'
                      '[[tool.importlinter.contracts]]\nname = "api without server"\n'
                      'type = "forbidden"\nsource_modules = ["bontrack.api"]\n'
                      'forbidden_modules = ["bontrack.server"]\n')
    r = lint(str(config))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "bontrack.api.app -> bontrack.server.deps" in r.stdout
