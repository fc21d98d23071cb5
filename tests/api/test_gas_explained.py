"""The goals page explains the GAS T-score (issue 17 item 5, in part), and its worked
figures are the formula's own (clinical/gas.py)."""

from __future__ import annotations

import pytest

from bontrack.clinical.gas import t_score
from tests.api.test_recall_visits import web  # noqa: F401  (the signed-in web fixture)


def test_the_goals_page_explains_the_t_score_with_figures_the_formula_gives(api, web):  # noqa: F811
    page = web("nurse").get(f"/patients/{api.ids['p1']}/goals")
    assert page.status_code == 200
    assert 'id="t-score-explained"' in page.text and "Kiresuk" in page.text
    assert t_score([(1, 1)]) == pytest.approx(60) and t_score([(-1, 1)]) == pytest.approx(40)
    for level, shown in ((1, "63.7"), (-1, "36.3")):
        assert f"{t_score([(level, 1)] * 3):.1f}" == shown and shown in page.text
