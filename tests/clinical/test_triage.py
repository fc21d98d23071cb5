"""Triage of what patients write: the phrasing table, the leaflet's own words, the rule's
guarantees (a negation is never silently not urgent) and the red-flag data itself."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bontrack.clinical.triage import red_flags, triage
from tests.clinical.triage_phrasings import PHRASINGS


def test_the_table_holds_at_least_200_phrasings_of_each_kind_of_answer():
    assert len(PHRASINGS) >= 200
    assert {level for _, level, _ in PHRASINGS} == {"urgent", "unclear", "not_urgent"}
    assert len({text for text, _, _ in PHRASINGS}) == len(PHRASINGS), "a phrasing twice"


@pytest.mark.parametrize(("text", "level", "ids"), PHRASINGS, ids=[p[0][:50] for p in PHRASINGS])
def test_phrasing_is_triaged_as_patients_mean_it(real_ref, text, level, ids):
    r = triage(text, real_ref.triage)
    assert r.level == level, (r.flags, r.possible)
    if level == "urgent":
        assert set(r.flag_ids) == ids
        assert r.urgent and not r.unclear
        assert r.advice.startswith("Seek urgent medical care now")
    elif level == "unclear":
        assert not r.flags and r.unclear and not r.urgent
        assert ids <= {f.id for f in r.possible}
        assert "clinic will be told" in r.advice
    else:
        assert not r.flags and not r.possible and not r.unclear


def test_every_red_flag_has_a_phrasing_in_the_table(real_ref):
    found = {i for _, level, ids in PHRASINGS if level == "urgent" for i in ids}
    assert found == {f.id for f in real_ref.red_flags}


def test_the_leaflets_own_words_are_urgent(real_ref):
    """What the leaflet tells a patient to seek help for is urgent when they write it back."""
    for flag in real_ref.red_flags:
        r = triage(flag.plain_language, real_ref.triage)
        assert flag.id in r.flag_ids, flag.plain_language
        for phrase in flag.phrases:
            assert flag.id in triage(phrase, real_ref.triage).flag_ids, phrase


def test_each_red_flag_cites_a_boxed_warning_or_hypersensitivity_section(real_ref):
    for flag in real_ref.red_flags:
        section = flag.source.section.lower()
        assert "boxed warning" in section or "hypersensitivity" in section, flag.id
        assert flag.source.document in real_ref.documents


def test_matched_words_are_the_patients_own_words(real_ref):
    text = "Since Tuesday my Left EYELID has dropped a lot"
    (flag,) = triage(text, real_ref.triage).flags
    assert flag.matched == "EYELID has dropped" and flag.matched in text


def test_a_vague_phrasing_never_shadows_an_urgent_one_of_the_same_flag(real_ref):
    """A vague phrasing may not be the same words as a red-flag phrasing (else it would be
    urgent and unclear at once, and the data would not say which)."""
    from bontrack.clinical.triage import _compiled

    c = _compiled(real_ref.triage)
    urgent = {(p.flag, p.stems) for p in c.phrases if not p.vague}
    for p in c.phrases:
        if p.vague:
            assert (p.flag, p.stems) not in urgent, p


def test_red_flags_of_several_texts_are_collected_once(real_ref):
    assert red_flags(["seeing double", "double vision", "hives"], real_ref.triage) == [
        "vision", "allergic_reaction"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([p for p in PHRASINGS if p[1] == "urgent"]), st.text(max_size=40))
def test_adding_unrelated_words_in_a_new_sentence_never_lowers_urgency(real_ref, case, extra):
    text, _, ids = case
    r = triage(f"{text}.\n{extra}", real_ref.triage)
    assert r.urgent and ids <= set(r.flag_ids)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_result_and_urgent_and_unclear_never_both(real_ref, text):
    r = triage(text, real_ref.triage)
    assert not (r.urgent and r.unclear)
    assert r.urgent == bool(r.flags)
    assert r.advice


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "-", "...", "?!", " - "])
def test_nothing_written_is_not_read_as_a_text_that_could_not_be_read(real_ref, text):
    """A record's empty free-text fields (a diary of numbers only) triage as not urgent; only
    a text with something in it that the rule cannot read is unclear."""
    r = triage(text, real_ref.triage)
    assert r.level == "not_urgent" and r.unread == ()
