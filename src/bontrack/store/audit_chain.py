"""The hash chain of the audit trail: how an event's hash is computed, and the check of the
whole chain (``bontrack audit verify``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def _stamp(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def event_hash(prev: str, at: datetime, user_id: int | None, clinic_id: int | None,
               action: str, entity: str, entity_id: int | None, patient_id: int | None,
               outcome: str, detail: str) -> str:
    text = "|".join(str(x) for x in (prev, _stamp(at), user_id, clinic_id, action, entity,
                                      entity_id, patient_id, outcome, detail))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verdict:
    events: int
    broken_at: int | None
    reason: str

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(rows: Iterable[Any]) -> Verdict:
    """Check rows (in id order) with the fields of ``event_hash`` plus id, prev_hash, hash."""
    prev = GENESIS
    n = 0
    for r in rows:
        n += 1
        if r.prev_hash != prev:
            return Verdict(n, r.id, f"event {r.id} does not follow the event before it "
                                    "(an event was deleted or inserted)")
        expected = event_hash(r.prev_hash, r.at, r.user_id, r.clinic_id, r.action, r.entity,
                              r.entity_id, r.patient_id, r.outcome, r.detail)
        if r.hash != expected:
            return Verdict(n, r.id, f"event {r.id} was changed after it was written")
        prev = r.hash
    return Verdict(n, None, "chain intact")
