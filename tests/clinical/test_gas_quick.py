"""Quick answers turn into GAS levels as the cited table says (reference/data/gas_quick.yaml;
issue 17 item 5): achieved 0, a little more +1, a lot more +2, partly -1, no change the
goal's start (-1 with some ability, -2 with none), worse -2 (only from a start of -1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bontrack.clinical.gas import quick_level, t_score
from bontrack.errors import UnknownAnswer
from bontrack.reference.gas_quick import default_gas_quick, load_gas_quick
from bontrack.reference.loader import DATA_DIR, load_reference

# What the sources say, written out independently of the data file: a changed file fails here.
EXPECTED = {
    "achieved": 0,
    "a_little_more": 1,
    "a_lot_more": 2,
    "partly": -1,
    "no_change_some_ability": -1,
    "no_change_no_ability": -2,
    "worse": -2,
}
QUICK = default_gas_quick()


@pytest.mark.parametrize(("answer", "level"), sorted(EXPECTED.items()))
def test_each_quick_answer_gives_the_level_its_source_gives(answer, level):
    assert quick_level(answer, QUICK.by_id()) == level


def test_the_file_holds_exactly_these_answers():
    assert {a.id: a.level for a in QUICK.answers} == EXPECTED


@pytest.mark.parametrize("answer", QUICK.answers, ids=lambda a: a.id)
def test_every_answer_quotes_its_level_or_says_how_it_follows(answer):
    shown = f"{answer.level:+d}" if answer.level else "0"
    quote = answer.source.quote.replace("\u2013", "-")
    assert shown in quote or str(answer.level) in quote or answer.derivation, answer.id
    assert answer.source.document in QUICK.documents


def test_the_answers_cover_the_gas_scale_and_never_leave_it():
    scale = load_reference().scales["gas"]
    assert QUICK.fits(scale)
    assert "-2 to +2" in QUICK.range_source.quote


def test_no_answer_gives_minus_three_and_the_t_score_refuses_it():
    assert min(a.level for a in QUICK.answers) == -2
    with pytest.raises(ValueError):
        t_score([(-3, 1)])


def test_an_unknown_answer_is_refused_listing_the_answers():
    with pytest.raises(UnknownAnswer) as e:
        quick_level("mostly", QUICK.by_id())
    assert "mostly" in str(e.value) and "partly" in e.value.choices


@dataclass(frozen=True)
class Broken:
    level: int


def test_a_table_whose_level_leaves_the_scale_never_scores_a_goal():
    with pytest.raises(ValueError):
        quick_level("worse", {"worse": Broken(-3)})


def test_quick_answers_score_the_t_score_as_their_levels_do():
    # three equal goals: achieved, partly, a lot more -> levels 0, -1, +2
    goals = [(quick_level(a, QUICK.by_id()), 1) for a in ("achieved", "partly", "a_lot_more")]
    assert t_score(goals) == pytest.approx(t_score([(0, 1), (-1, 1), (2, 1)]))


def test_a_file_citing_a_document_it_does_not_list_fails_at_load(tmp_path: Path):
    text = (DATA_DIR / "gas_quick.yaml").read_text(encoding="utf-8")
    (tmp_path / "gas_quick.yaml").write_text(
        text.replace("document: kcl_gas_tool", "document: nowhere", 1), encoding="utf-8")
    with pytest.raises(Exception, match="nowhere"):
        load_gas_quick(tmp_path)
