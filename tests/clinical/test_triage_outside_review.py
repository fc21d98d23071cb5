"""The outside review's cases (tests/fixtures/triage_outside_review.tsv), table-driven: no
case the reviewer judged urgent may ever come out not urgent, and the counts of urgent cases
downgraded to a call-back and of over-triage may not grow past today's figures
(docs/triage.md; print them with ``python -m tests.clinical.triage_review``)."""

from __future__ import annotations

import pytest

from bontrack.clinical.triage import triage
from tests.clinical.triage_review import cases, outcomes

CASES = cases()
URGENT = [c for c in CASES if c[1] == "urgent"]

#: Urgent cases that may come out unclear (a call-back) at most: the aim is <= 5.
MAX_URGENT_UNCLEAR = 0
#: Not-urgent cases triaged urgent or unclear (the lesser problem; may only go down).
MAX_NOT_URGENT_TO_URGENT = 19
MAX_NOT_URGENT_TO_UNCLEAR = 33


def test_the_review_table_is_complete():
    assert len(CASES) == 337
    assert [sum(c[1] == lvl for c in CASES) for lvl in ("urgent", "unclear", "not_urgent")] == [
        197, 17, 123]


@pytest.mark.parametrize(("text", "expected", "flag"), URGENT, ids=[c[0][:50] for c in URGENT])
def test_an_urgent_case_is_never_not_urgent_and_names_its_red_flag(real_ref, text, expected, flag):
    r = triage(text, real_ref.triage)
    assert r.level != "not_urgent", text
    if r.urgent:
        assert flag in r.flag_ids, (text, r.flags)
    else:
        assert flag in {f.id for f in r.possible}, (text, r.possible)


def test_counts_stay_within_todays_figures(real_ref):
    counts, _ = outcomes(real_ref.triage)
    assert counts[("urgent", "not_urgent")] == 0
    assert counts[("urgent", "unclear")] <= MAX_URGENT_UNCLEAR
    assert counts[("not_urgent", "urgent")] <= MAX_NOT_URGENT_TO_URGENT
    assert counts[("not_urgent", "unclear")] <= MAX_NOT_URGENT_TO_UNCLEAR


@pytest.mark.parametrize("at", range(19_980, 20_010, 3))
def test_a_long_report_is_read_whole_even_where_a_window_ends(real_ref, at):
    from bontrack.clinical.triage import triage_long

    text = ("x" * (at - 1) + " trouble swallowing ").ljust(45_000, "y")
    r = triage_long(text, real_ref.triage, 20_000)
    assert r.urgent and r.flag_ids == ["swallowing"], at
