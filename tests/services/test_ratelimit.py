"""Sign-in throttling rules and the client address (the counting itself runs against real
databases in tests/api/test_sign_in_throttle.py)."""

from __future__ import annotations

import pytest

from bontrack.services.ratelimit import RULES, client_address, keys


def test_waits_double_after_the_free_failures_and_stop_at_the_cap():
    pair, account = RULES["pair"], RULES["account"]
    assert [pair.wait(n) for n in range(1, 7)] == [0, 0, 1, 2, 4, 8]
    assert pair.wait(1000) == 900
    assert account.wait(9) == 0 and account.wait(10) == 1 and account.wait(10_000) == 60


def test_the_account_key_is_left_out_at_a_known_address():
    assert [k for k, _ in keys("doc", "10.0.0.1", known=False)] == [
        "pair:doc|10.0.0.1", "addr:10.0.0.1", "acct:doc"]
    assert [k for k, _ in keys("doc", "10.0.0.1", known=True)] == [
        "pair:doc|10.0.0.1", "addr:10.0.0.1"]


def test_forwarded_for_is_ignored_without_trusted_proxies(monkeypatch):
    monkeypatch.delenv("BONTRACK_TRUSTED_PROXIES", raising=False)
    assert client_address("203.0.113.1", "1.2.3.4") == "203.0.113.1"


def test_forwarded_for_is_read_from_the_right_through_trusted_proxies(monkeypatch):
    monkeypatch.setenv("BONTRACK_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    assert client_address("10.0.0.2", "6.6.6.6, 198.51.100.9, 10.0.0.7") == "198.51.100.9"
    assert client_address("203.0.113.1", "1.2.3.4") == "203.0.113.1"  # untrusted peer
    assert client_address("10.0.0.2", "not-an-ip") == "10.0.0.2"
    assert client_address("10.0.0.2", None) == "10.0.0.2"


def test_a_bad_proxy_setting_names_the_setting(monkeypatch):
    monkeypatch.setenv("BONTRACK_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")
    with pytest.raises(ValueError, match="BONTRACK_TRUSTED_PROXIES"):
        client_address("10.0.0.2", "1.2.3.4")
