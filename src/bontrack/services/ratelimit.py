"""Sign-in throttling per client address: after too many failed sign-ins from one address
in a short window, further attempts are refused for a while (credential stuffing defence,
OWASP ASVS V2.2.1). Per-account lock-out is separate (services.accounts)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from bontrack.errors import TooManyAttempts

__all__ = ["FailureCounter", "TooManyAttempts"]

WINDOW_SECONDS = 300
MAX_FAILURES = 20


class FailureCounter:
    def __init__(self, window: float = WINDOW_SECONDS, limit: int = MAX_FAILURES) -> None:
        self.window = window
        self.limit = limit
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self.failures[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def check(self, key: str) -> None:
        """Refuse when ``key`` has failed too often within the window."""
        with self.lock:
            q = self._trim(key, time.monotonic())
            if len(q) >= self.limit:
                wait = int(self.window - (time.monotonic() - q[0])) + 1
                raise TooManyAttempts(
                    f"too many failed sign-ins from this address; try again in {wait} s")

    def failed(self, key: str) -> None:
        with self.lock:
            q = self._trim(key, time.monotonic())
            q.append(time.monotonic())
            if len(self.failures) > 100_000:  # bounded memory under a flood of addresses
                self.failures.clear()


SIGN_IN = FailureCounter()
