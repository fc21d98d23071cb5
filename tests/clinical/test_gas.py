"""GAS T-scores, hand-computed."""

from __future__ import annotations

import math

import pytest

from bontrack.clinical.gas import t_score


def test_all_goals_met_as_expected_gives_50():
    assert t_score([(0, 1), (0, 1), (0, 2)]) == 50


def test_one_goal_much_better_than_expected():
    # 50 + 10 * 2 / sqrt(0.7 * 1 + 0.3 * 1) = 70
    assert t_score([(2, 1)]) == pytest.approx(70)


def test_three_equal_goals_one_level_better():
    # 50 + 10 * 3 / sqrt(0.7 * 3 + 0.3 * 9) = 50 + 30 / sqrt(4.8)
    assert t_score([(1, 1)] * 3) == pytest.approx(50 + 30 / math.sqrt(4.8))


def test_weights_count():
    # 50 + 10 * (2*-1 + 1*1) / sqrt(0.7 * 5 + 0.3 * 9) = 50 - 10 / sqrt(6.2)
    assert t_score([(-1, 2), (1, 1)]) == pytest.approx(50 - 10 / math.sqrt(6.2))


def test_no_scored_goal_gives_none_and_bad_levels_are_refused():
    assert t_score([]) is None
    with pytest.raises(ValueError):
        t_score([(3, 1)])
