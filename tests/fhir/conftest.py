"""A demo registry in a real database (SQLite and PostgreSQL) for the FHIR tests."""

from __future__ import annotations

import pytest

from bontrack.demo.generator import generate
from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database

DEMO_PATIENTS = 12


def make_demo(url: str, patients: int = DEMO_PATIENTS) -> None:
    engine = make_engine(url)
    upgrade(engine)
    generate(Database(engine), patients=patients, seed=11)
    engine.dispose()


@pytest.fixture
def demo_url(db_url: str) -> str:
    make_demo(db_url)
    return db_url


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    make_demo(url)
    return url
