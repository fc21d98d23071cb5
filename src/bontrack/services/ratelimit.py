"""Sign-in throttling that slows a guesser without locking the real user out.

There is no account lock-out: a lock-out anyone can trigger by typing a username is a denial
of service against that user (OWASP Authentication Cheat Sheet, "Account lockout"; OWASP
ASVS 4.0.3 V2.2.1 asks for anti-automation that does not let an attacker lock accounts).
Instead failures are counted under three keys, each with exponential back-off:

- ``pair``: this username from this address. After 3 failures each further one doubles the
  wait (1 s, 2 s, 4 s, ... at most 15 minutes). Only this address is slowed for this account.
- ``address``: any username from this address (credential stuffing). After 20 failures,
  the same doubling, at most 15 minutes. Only this address is slowed.
- ``account``: this username from addresses it has never signed in from. After 10
  failures, a wait that doubles up to **60 s and no more**: a botnet of rotating addresses
  gets about one guess a minute per account (ASVS V2.2.1: fewer than 100 an hour), while an
  address the account signed in from before (``KnownAddress``) is never held by it.

An attempt that arrives while a key waits is refused without looking at the password, with
the same answer as a wrong password (``services.accounts``), so a guesser cannot tell a
wasted guess from a wrong one. Counts live in the database (``SignInThrottle``): every
worker process sees them, and parallel failures all count. Failures are forgotten after a
quiet hour (15 minutes for ``account``).

The client address is the socket peer unless that peer is a configured trusted proxy
(``client_address``), so rotating ``X-Forwarded-For`` gains nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bontrack.config import trusted_proxies
from bontrack.store.models import KnownAddress, SignInThrottle

__all__ = ["RULES", "Rule", "blocked", "client_address", "failed", "is_known", "keys",
           "remember", "succeeded"]


@dataclass(frozen=True)
class Rule:
    """``free`` failures cost nothing; the next waits 1 s, then 2 s, ... up to ``cap``.
    Failures are forgotten once none came for ``forget`` seconds."""

    free: int
    cap: int
    forget: int

    def wait(self, failures: int) -> int:
        if failures < self.free:
            return 0
        return int(min(self.cap, 2 ** min(failures - self.free, 30)))


RULES = {
    "pair": Rule(free=3, cap=900, forget=3600),
    "address": Rule(free=20, cap=900, forget=3600),
    "account": Rule(free=10, cap=60, forget=900),
}
KNOWN_FOR = timedelta(days=180)  # an address is "known" this long after a sign-in from it


def keys(username: str, address: str, known: bool) -> list[tuple[str, Rule]]:
    """The keys an attempt by ``username`` from ``address`` counts under. The per-account key
    is left out at an address the account signed in from before. Keys use the name typed,
    so an unknown username is throttled exactly like a real one."""
    name, addr = username[:80], address[:64]
    out = [(f"pair:{name}|{addr}", RULES["pair"]), (f"addr:{addr}", RULES["address"])]
    if not known:
        out.append((f"acct:{name}", RULES["account"]))
    return out


def blocked(session: Session, attempt: list[tuple[str, Rule]], now: datetime) -> list[str]:
    """The keys of this attempt that are still waiting (empty: the attempt may proceed)."""
    names = [k for k, _ in attempt]
    return list(session.scalars(select(SignInThrottle.key).where(
        SignInThrottle.key.in_(names), SignInThrottle.blocked_until > now)))


def failed(session: Session, attempt: list[tuple[str, Rule]], now: datetime) -> None:
    """Count a failure under each key (in SQL, so parallel failures all count) and set how
    long each key now waits; forget long-quiet keys."""
    for key, rule in attempt:
        n = _count(session, key, rule, now)
        wait = rule.wait(n)
        session.execute(update(SignInThrottle).where(SignInThrottle.key == key).values(
            blocked_until=now + timedelta(seconds=wait) if wait else None)
            .execution_options(synchronize_session=False))
    stale = now - timedelta(seconds=max(r.forget for r in RULES.values()) * 24)
    session.execute(delete(SignInThrottle).where(SignInThrottle.last_failure_at < stale)
                    .execution_options(synchronize_session=False))


def _count(session: Session, key: str, rule: Rule, now: datetime) -> int:
    t = SignInThrottle
    quiet = now - timedelta(seconds=rule.forget)
    for _ in range(3):
        n = session.execute(
            update(t).where(t.key == key)
            .values(failures=case((t.last_failure_at < quiet, 1), else_=t.failures + 1),
                    last_failure_at=now)
            .returning(t.failures).execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if n is not None:
            return int(n)
        try:
            with session.begin_nested():  # a parallel first failure may insert it too
                session.add(t(key=key, failures=1, last_failure_at=now))
            return 1
        except IntegrityError:
            continue
    return 1


def succeeded(session: Session, username: str, address: str) -> None:
    """A full sign-in clears this username's count at this address (not the address's own
    count: one valid account must not reset a stuffing attacker's budget)."""
    session.execute(delete(SignInThrottle).where(
        SignInThrottle.key == f"pair:{username[:80]}|{address[:64]}")
        .execution_options(synchronize_session=False))


def is_known(session: Session, user_id: int, address: str, now: datetime) -> bool:
    return session.scalar(select(KnownAddress.id).where(
        KnownAddress.user_id == user_id, KnownAddress.address == address[:64],
        KnownAddress.last_at > now - KNOWN_FOR)) is not None


def remember(session: Session, user_id: int, address: str, now: datetime) -> None:
    """Note that ``user_id`` signed in from ``address`` (exempt from the account key)."""
    row = session.scalar(select(KnownAddress).where(KnownAddress.user_id == user_id,
                                                    KnownAddress.address == address[:64]))
    if row is None:
        session.add(KnownAddress(user_id=user_id, address=address[:64], last_at=now))
    else:
        row.last_at = now


def client_address(peer: str | None, forwarded_for: str | None) -> str:
    """The address to throttle and audit: the socket peer, unless the peer is a trusted
    proxy (BONTRACK_TRUSTED_PROXIES), in which case ``X-Forwarded-For`` is read from the
    right, skipping trusted proxies, and the first untrusted address is the client. An
    entry that is not an IP address ends the walk at the last trusted hop."""
    current = peer or "unknown"
    proxies = trusted_proxies()
    if not proxies or not forwarded_for:
        return current
    hops = [h.strip() for h in forwarded_for.split(",")]
    while hops and _within(current, proxies):
        hop = hops.pop()
        try:
            current = str(ipaddress.ip_address(hop))
        except ValueError:
            return current
    return current


def _within(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
            ) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)
