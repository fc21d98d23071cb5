"""The SIGKILL loop of ``test_sigkill_loop.py`` on PostgreSQL: a file of its own so that the
two databases' loops (minutes each) run on the two test workers at once (tests/conftest.py,
"scheduling")."""

from __future__ import annotations

import pytest

from tests.conftest import fresh_database
from tests.reliability.test_sigkill_loop import (
    test_sigkill_at_random_points_loses_no_acknowledged_write,
)

__all__ = ["test_sigkill_at_random_points_loses_no_acknowledged_write"]


@pytest.fixture
def db_url(tmp_path):
    url, drop = fresh_database("postgresql", tmp_path)
    yield url
    drop()
