"""The PostgreSQL connection pool's size comes from the settings (issue 16: with
SQLAlchemy's default of 5, every request past the fifth in flight opened and closed a
connection of its own)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bontrack.config import ENV_DB_MAX_OVERFLOW, ENV_DB_POOL_SIZE, db_pool_size
from bontrack.errors import SettingError
from bontrack.store.db import make_engine

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_a_server_keeps_twenty_connections_by_default(monkeypatch):
    monkeypatch.delenv(ENV_DB_POOL_SIZE, raising=False)
    monkeypatch.delenv(ENV_DB_MAX_OVERFLOW, raising=False)
    engine = make_engine(PG)  # no connection is opened until one is used
    assert (engine.pool.size(), engine.pool._max_overflow) == (20, 10)
    engine.dispose()


def test_the_pool_size_is_set_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_DB_POOL_SIZE, "7")
    monkeypatch.setenv(ENV_DB_MAX_OVERFLOW, "0")
    engine = make_engine(PG)
    assert (engine.pool.size(), engine.pool._max_overflow) == (7, 0)
    engine.dispose()


@pytest.mark.parametrize("raw", ["0", "-3", "twenty", "1001", "2.5"])
def test_a_bad_pool_size_is_refused_naming_the_setting(monkeypatch, raw):
    monkeypatch.setenv(ENV_DB_POOL_SIZE, raw)
    with pytest.raises(SettingError, match=ENV_DB_POOL_SIZE):
        db_pool_size()


def test_a_bad_setting_is_one_line_and_exit_2_in_the_cli(monkeypatch):
    """Not 'internal error, please report it': the operator's own setting, named."""
    monkeypatch.setenv(ENV_DB_POOL_SIZE, "twenty")
    done = subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           "serve", "--db", PG,
                           "--port", "1"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert "BONTRACK_DB_POOL_SIZE='twenty'" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
