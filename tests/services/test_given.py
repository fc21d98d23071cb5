"""When the next cycle is due: the wording and the overdue flag (services.given.next_due),
and which cycles count as given."""

from __future__ import annotations

from datetime import date

import pytest

from bontrack.errors import InvalidRecord
from bontrack.services.given import is_given, next_due, refuse_future, was_given

LAST = date(2026, 6, 1)
EARLIEST = date(2026, 8, 24)
WINDOW = (date(2026, 9, 10), date(2026, 10, 1))


@pytest.mark.parametrize(("as_of", "window", "status", "words"), [
    (date(2026, 9, 1), WINDOW, "not_yet", "Suggested window for the next cycle: 2026-09-10 "
                                          "to 2026-10-01"),
    (date(2026, 9, 10), WINDOW, "due", "Due now"),
    (date(2026, 10, 1), WINDOW, "due", "Due now"),
    (date(2026, 10, 2), WINDOW, "overdue", "the suggested window ended on 2026-10-01 (1 day "
                                           "ago)"),
    (date(2026, 12, 6), WINDOW, "overdue", "(66 days ago)"),
    (date(2026, 8, 23), None, "not_yet", "Next cycle no earlier than 2026-08-24"),
    (date(2026, 8, 24), None, "due", "may be given from today"),
    (date(2026, 8, 25), None, "overdue", "could be given from 2026-08-24 (1 day ago)"),
])
def test_the_next_date_is_worded_for_the_day_and_a_past_date_is_overdue(
        as_of, window, status, words):
    due = next_due(LAST, EARLIEST, window, as_of)
    assert due["status"] == status
    assert words in due["text"]
    assert due["overdue"] is (status == "overdue")
    if status != "not_yet":
        assert "Suggested window" not in due["text"]  # a past window is never "suggested"


def test_no_cycle_given_and_no_interval_known_are_said_plainly():
    assert next_due(None, None, None, date(2026, 12, 6))["status"] == "none_given"
    due = next_due(LAST, None, None, date(2026, 12, 6))
    assert due["status"] == "not_checked" and "not checked" in due["text"]
    assert "2026-06-01" in due["text"] and not due["overdue"]


def test_only_signed_cycles_are_given_and_a_withdrawn_one_was_given_only_if_signed():
    assert is_given({"status": "signed"}) and not is_given({"status": "draft"})
    assert not is_given({"status": "entered_in_error", "signed_at": "2026-01-01"})
    assert was_given({"status": "entered_in_error", "signed_at": "2026-01-01"})
    assert not was_given({"status": "entered_in_error", "signed_at": None})
    assert not was_given({"status": "draft", "signed_at": None})


def test_a_day_after_today_is_refused_naming_the_date():
    refuse_future(date(2026, 12, 6), date(2026, 12, 6))
    with pytest.raises(InvalidRecord) as err:
        refuse_future(date(2026, 12, 7), date(2026, 12, 6))
    assert err.value.field == "date" and "2026-12-07" in err.value.message
