"""Shared fixtures: the bundled reference data, and a synthetic reference for rule tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.plan import read_plan
from bontrack.reference import Reference, default_reference, load_reference
from bontrack.reference.loader import DATA_DIR

FIXTURES = Path(__file__).parent / "fixtures"


def build_fixture_dir(target: Path) -> Path:
    """A reference folder: the real indications, muscles and safety files, synthetic products."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("meta.yaml", "indications.yaml", "muscles.yaml", "safety.yaml"):
        shutil.copy(DATA_DIR / name, target / name)
    (target / "products").mkdir(exist_ok=True)
    for name in ("testotoxinA.yaml", "othertoxinB.yaml"):
        shutil.copy(FIXTURES / name, target / "products" / name)
    return target


@pytest.fixture(scope="session")
def fixture_ref(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return load_reference(build_fixture_dir(tmp_path_factory.mktemp("ref")))


@pytest.fixture(scope="session")
def real_ref() -> Reference:
    return default_reference()


def adult_plan(**overrides: Any) -> dict[str, Any]:
    """A valid adult upper-limb plan for the synthetic product; override any top-level key."""
    plan: dict[str, Any] = {
        "date": "2026-11-24",
        "patient": {"birth_date": "1970-03-02", "weight_kg": 80},
        "product": "testotoxinA",
        "indication": "upper_limb_spasticity",
        "injections": [
            {"muscle": "biceps_brachii", "side": "left", "units": 100, "sites": 4},
            {"muscle": "flexor_carpi_radialis", "side": "left", "units": 25, "sites": 1},
        ],
    }
    plan.update(overrides)
    return plan


@pytest.fixture
def check(fixture_ref: Reference) -> Callable[[dict[str, Any]], CheckResult]:
    def run(doc: dict[str, Any]) -> CheckResult:
        return check_plan(read_plan(doc, fixture_ref), fixture_ref)

    return run


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]
