"""Goal Attainment Scaling: the T-score of a set of scored goals.

Kiresuk TJ, Sherman RE. Goal attainment scaling: a general method for evaluating
comprehensive community mental health programs. Community Ment Health J 1968;4:443-53:
T = 50 + 10 * sum(w_i * x_i) / sqrt((1 - rho) * sum(w_i^2) + rho * (sum(w_i))^2),
with x_i the attainment level (-2..+2), w_i the goal's weight and rho = 0.3, the assumed
correlation between goals. T = 50 when every goal is met exactly as expected (all 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RHO = 0.3


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
