"""The password policy: length, the bundled breached list, guessability, no composition rules
(NIST SP 800-63B 5.1.1.2, ASVS V2.1)."""

from __future__ import annotations

import pytest

from bontrack.errors import InvalidRecord
from bontrack.services import accounts
from bontrack.services.passwords import breached, password_problem
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade


@pytest.mark.parametrize(("password", "why"), [
    ("short", "at least 12"),
    ("x" * 129, "at most 128"),
    ("needforspeed", "breached"),             # in the breach corpus list
    ("NeedForSpeed", "breached"),             # case does not make it new
    ("password1234", "breached"),
    ("aaaaaaaaaaaa", "too easy"),              # repeats
    ("123456789012", "too easy"),              # a sequence
    ("qwertyuiopas", "too easy"),              # a keyboard walk
    ("bontrackbontrack", "name"),              # the service's name
    ("dr.okafor.dr.okafor", "name"),           # the user's own name
    ("Okafor2026-okafor!", "name"),
])
def test_refused_passwords_say_why(password: str, why: str) -> None:
    problem = password_problem(password, "dr.okafor", "Dr Okafor")
    assert problem is not None and why in problem


@pytest.mark.parametrize("password", [
    "correct horse battery",                  # words, all lower case: no composition rule
    "plum tractor sideways lantern",
    "ödeme kırmızı bulut 7",                   # any Unicode is allowed
    "Zk4mP9qWx2RtLb",
])
def test_strong_passwords_are_accepted_without_composition_rules(password: str) -> None:
    assert password_problem(password, "dr.okafor") is None


def test_the_breached_list_is_bundled_and_large() -> None:
    words = breached()
    assert len(words) >= 25_000 and "123456" in words


def test_accounts_refuse_a_breached_password_naming_the_field(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    with transaction(session_factory(engine)) as s:
        clinic = accounts.get_or_create_clinic(s, "C")
        with pytest.raises(InvalidRecord) as e:
            accounts.add_user(s, clinic=clinic, username="nurse.x", password="password1234",
                              role="nurse")
        assert e.value.field == "password" and "breached" in e.value.message
        accounts.add_user(s, clinic=clinic, username="nurse.y",
                          password="plum tractor sideways lantern", role="nurse")
    engine.dispose()
