"""Per-address sign-in throttling."""

from __future__ import annotations

import pytest

from bontrack.services.ratelimit import FailureCounter, TooManyAttempts


def test_too_many_failures_from_one_address_are_refused_for_a_while():
    c = FailureCounter(window=60, limit=3)
    for _ in range(3):
        c.check("10.9.9.9")
        c.failed("10.9.9.9")
    with pytest.raises(TooManyAttempts) as err:
        c.check("10.9.9.9")
    assert err.value.status == 429
    c.check("10.9.9.8")  # other addresses are not affected


def test_failures_older_than_the_window_do_not_count():
    c = FailureCounter(window=0.01, limit=1)
    c.failed("a")
    import time

    time.sleep(0.02)
    c.check("a")
