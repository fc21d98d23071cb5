"""Goal Attainment Scaling: the T-score of a set of scored goals.

Kiresuk TJ, Sherman RE. Goal attainment scaling: a general method for evaluating
comprehensive community mental health programs. Community Ment Health J 1968;4:443-53:
T = 50 + 10 * sum(w_i * x_i) / sqrt((1 - rho) * sum(w_i^2) + rho * (sum(w_i))^2),
with x_i the attainment level (-2..+2), w_i the goal's weight and rho = 0.3, the assumed
correlation between goals. T = 50 when every goal is met exactly as expected (all 0).

A goal may also be scored by a quick plain answer ("achieved", "partly", "worse" ...):
``quick_level`` turns it into its level from the cited table in
``reference/data/gas_quick.yaml``. No answer gives -3: the standard scale, and this formula,
take -2..+2 (that file says why).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

from bontrack.errors import UnknownAnswer

RHO = 0.3


class QuickAnswer(Protocol):
    """What ``quick_level`` reads of an answer (reference/gas_quick.QuickAnswer)."""

    @property
    def level(self) -> int: ...


def quick_level(answer: str, answers: Mapping[str, QuickAnswer]) -> int:
    """The GAS level (-2..+2) a quick plain answer maps to, from ``answers`` (the cited table,
    by answer id); UnknownAnswer for an answer not in it, and ValueError for a table whose
    level leaves -2..+2 (a broken table never scores a goal)."""
    if answer not in answers:
        raise UnknownAnswer(answer, list(answers))
    level = answers[answer].level
    if not -2 <= level <= 2:
        raise ValueError(f"quick answer {answer!r} maps to {level}, outside -2..+2")
    return level


def t_score(goals: Sequence[tuple[int, int]]) -> float | None:
    """T-score of (attainment, weight) pairs; None when no goal has been scored."""
    scored = [(x, w) for x, w in goals if x is not None]
    if not scored:
        return None
    for x, w in scored:
        if not -2 <= x <= 2:
            raise ValueError(f"attainment must be -2..+2, got {x}")
        if w <= 0:
            raise ValueError(f"weight must be positive, got {w}")
    sw = sum(w * x for x, w in scored)
    w2 = sum(w * w for _, w in scored)
    ws = sum(w for _, w in scored)
    return 50 + 10 * sw / math.sqrt((1 - RHO) * w2 + RHO * ws * ws)
