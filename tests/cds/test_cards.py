"""Cards from findings: stop is critical, warning is warning, what was not checked is info;
each carries the value, the limit, the label citation and the planner link."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bontrack.cds.cards import Checked, Note, amount, cards_for
from bontrack.clinical.findings import Finding

PLANNER = "https://bontrack.example/patients/7/cycles/new"


def checked(*findings: Finding) -> Checked:
    return Checked("onabotulinumtoxinA", "BOTOX", "Upper limb spasticity", Decimal(450),
                   findings)


CASES = [
    (Finding("SESSION_MAX_EXCEEDED", "Total 450 U is above 400 U.", Decimal(450), Decimal(400),
             "U", source="BOTOX PI, 2.1"), "critical", ["450 U", "400 U", "BOTOX PI, 2.1"]),
    (Finding("RETREATMENT_TOO_SOON", "Last 40 days ago.", Decimal(40), Decimal(84), "days",
             source="BOTOX PI, 2.2"), "critical", ["Value: 40 days", "Limit: 84 days"]),
    (Finding("MUSCLE_DOSE_ABOVE_RANGE", "Biceps above range.", Decimal(200), Decimal(200),
             "U", muscle="biceps_brachii", source="BOTOX PI, Table 2"), "warning",
     ["Limit: 200 U", "BOTOX PI, Table 2"]),
    (Finding("LIMIT_NOT_AVAILABLE", "1 check not available: a minimum retreatment interval.",
             checks=("interval",)), "info", ["not available", "not from a label"]),
]


@pytest.mark.parametrize(("finding", "indicator", "shown"), CASES,
                         ids=[c[0].code for c in CASES])
def test_each_finding_is_a_card_of_its_severity_with_value_limit_and_source(
        finding: Finding, indicator: str, shown: list[str]) -> None:
    cards = cards_for([checked(finding)], [], "hook-1", PLANNER)
    card = next(c for c in cards if c["source"]["topic"]["code"] == finding.code)
    assert card["indicator"] == indicator
    assert len(card["summary"]) <= 140
    text = card["summary"] + card["detail"] + card["source"]["label"]
    for words in shown:
        assert words in text
    assert card["links"] == [{"label": "Open the bontrack planner", "url": PLANNER,
                              "type": "absolute"}]
    if finding.source:
        assert card["source"]["label"] == finding.source


def test_a_product_with_nothing_above_information_still_gets_a_card_saying_so() -> None:
    not_available = Finding("LIMIT_NOT_AVAILABLE", "interval not checked", checks=("interval",))
    cards = cards_for([checked(not_available)], [], "hook-1", None)
    assert sorted(c["source"]["topic"]["code"] for c in cards) == ["CHECKED",
                                                                   "LIMIT_NOT_AVAILABLE"]
    assert all(c["indicator"] == "info" and "links" not in c for c in cards)


def test_no_card_says_all_clear_when_a_warning_was_found() -> None:
    warn = Finding("DRUG_INTERACTION", "gentamicin", source="PI 7")
    codes = [c["source"]["topic"]["code"] for c in cards_for([checked(warn)], [], "h", None)]
    assert codes == ["DRUG_INTERACTION"]


def test_cards_come_most_severe_first_with_stable_ids_per_hook_instance() -> None:
    stop = Finding("SESSION_MAX_EXCEEDED", "over", Decimal(450), Decimal(400), "U", source="PI")
    notes = [Note("info", "not in bontrack", "history not checked"),
             Note("warning", "two products", "units never added")]
    one = cards_for([checked(stop)], notes, "hook-1", PLANNER)
    assert [c["indicator"] for c in one] == ["critical", "warning", "info"]
    assert one == cards_for([checked(stop)], notes, "hook-1", PLANNER)
    other = cards_for([checked(stop)], notes, "hook-2", PLANNER)
    assert {c["uuid"] for c in one}.isdisjoint({c["uuid"] for c in other})
    assert len({c["uuid"] for c in one}) == 3


def test_a_long_summary_is_cut_to_the_specs_140_characters() -> None:
    cards = cards_for([], [Note("info", "x" * 300, "d")], "h", None)
    assert len(cards[0]["summary"]) == 140


@pytest.mark.parametrize(("value", "shown"), [(Decimal("400"), "400"), (Decimal("12.50"), "12.5"),
                                              (Decimal("4E+2"), "400"), (None, "")])
def test_amounts_are_shown_as_a_clinician_reads_them(value: Decimal | None, shown: str) -> None:
    assert amount(value) == shown
