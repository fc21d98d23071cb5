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
    """A reference folder: the real indications, muscles, safety, red-flag, medicine and scale
    files; synthetic products."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("meta.yaml", "indications.yaml", "muscles.yaml", "safety.yaml",
                 "red_flags.yaml", "medicines.yaml", "scales.yaml"):
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


# -- databases: every store and API test runs on SQLite and on PostgreSQL -------------------

import os  # noqa: E402
import uuid  # noqa: E402

import sqlalchemy as sa  # noqa: E402

PG_ADMIN_URL = os.environ.get("BONTRACK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        eng = sa.create_engine(PG_ADMIN_URL)
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


def fresh_database(kind: str, tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """A new empty database of ``kind``; returns (url, drop)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'bontrack.db'}", lambda: None
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI (127.0.0.1:5432, database test)")
        pytest.skip("PostgreSQL is not running")
    name = f"bt_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path):
    url, drop = fresh_database(request.param, tmp_path)
    yield url
    drop()


# Two-step sign-in is required for admins and clinicians by default; the tests' accounts
# sign in with passwords alone unless a test turns it on (tests/api/test_mfa.py,
# tests/web/test_mfa_browser.py). Servers started by tests inherit this.
os.environ.setdefault("BONTRACK_MFA_REQUIRED", "off")

# A server process keeps up to 20 PostgreSQL connections open (config.db_pool_size); the
# suite's many short-lived engines and servers, on up to 8 xdist workers, keep SQLAlchemy's
# former 5, so that they stay well under the test server's max_connections (100).
# tests/store/test_pool_size.py checks the setting itself.
os.environ.setdefault("BONTRACK_DB_POOL_SIZE", "5")



# -- scheduling: the slowest files first, so two workers finish together --------------------
#
# The suite runs on two xdist workers a file at a time (``--dist loadfile``: module fixtures
# start servers and browsers once per file). xdist's default hands files out by number of
# tests, largest first, which put the slowest files (a handful of tests each) at the very
# end, where one worker ran them alone while the other had finished. With
# ``--no-loadscope-reorder`` it hands them out in collection order, and this hook puts the
# files listed here first, slowest first; the rest follow in their usual order. Seconds are a
# file's total in a whole run on this 2-core machine (``--junitxml``, 2026-12-07, under load;
# only their order matters), so the list only needs the slow few. (``--dist loadgroup``
# would let one file's tests go to both workers, but with pytest 9.2 xdist 3.8 ignores its
# groups: it renames ``item._nodeid``, which pytest no longer reads. The SIGKILL loop is
# two files instead, one per database.)

SLOW_FILES: dict[str, float] = {
    "tests/api/test_fuzz_schema.py": 344,
    "tests/store/test_audit_anchor.py": 326,
    "tests/cli/test_databases.py": 260,
    "tests/fhir/test_import_forgiving.py": 249,
    "tests/store/test_durability.py": 223,
    "tests/web/test_offline.py": 180,
    "tests/reliability/test_sigkill_loop.py": 142,
    "tests/reliability/test_sigkill_loop_postgresql.py": 135,
    "tests/cli/test_triage_command.py": 199,
    "tests/fhir/test_import.py": 191,
    "tests/cli/test_check_command.py": 188,
    "tests/api/test_planned_not_given.py": 184,
    "tests/ops/test_two_servers.py": 184,
    "tests/web/test_browser.py": 175,
    "tests/api/test_sign_in_throttle.py": 165,
    "tests/services/test_analytics.py": 156,
    "tests/store/test_backup_and_cli.py": 133,
    "tests/ops/test_health_and_ready.py": 131,
    "tests/cli/test_demo_command.py": 130,
    "tests/api/test_plan_check_fuzz.py": 123,
    "tests/fhir/test_import_trust.py": 122,
    "tests/test_benches.py": 94,
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -SLOW_FILES.get(item.nodeid.split("::", 1)[0], 0.0))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core, at most 8. Much of the suite waits rather than
    computes (servers starting, SIGKILL restarts, browsers, subprocess CLIs, PostgreSQL
    commits), so a second worker per core fills the waits: on this 2-core machine a
    subprocess- and browser-heavy third of the suite took 302 s with 4 workers against 386 s
    with 2 (2026-12-07). Each worker holds up to ~0.8 GB, hence the cap."""
    return min(8, 2 * (os.cpu_count() or 1))
