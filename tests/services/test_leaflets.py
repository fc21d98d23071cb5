"""Leaflets are assembled from the cited reference data, for the patient's age group."""

from __future__ import annotations

from bontrack.reports.leaflets import leaflet


def test_leaflet_has_every_section_and_the_red_flags(real_ref):
    lf = leaflet(real_ref, "onabotulinumtoxinA", "upper_limb_spasticity", pediatric=False)
    assert lf["what"] and lf["how"] and lf["units_note"]
    assert len(lf["seek_help"]) == len(real_ref.red_flags)
    assert any("12 weeks" in line for line in lf["expect"])


def test_adults_and_children_see_their_own_trial_side_effects(real_ref):
    adult = leaflet(real_ref, "onabotulinumtoxinA", "upper_limb_spasticity", pediatric=False)
    child = leaflet(real_ref, "onabotulinumtoxinA", "upper_limb_spasticity", pediatric=True)
    assert adult["side_effects"] and child["side_effects"]
    assert {s["term"] for s in adult["side_effects"]} != {s["term"] for s in child["side_effects"]}
    assert all("pediatric" not in s["term"] for s in adult["side_effects"] + child["side_effects"])


def test_unlabelled_use_is_said(real_ref):
    assert not leaflet(real_ref, "rimabotulinumtoxinB", "chronic_migraine")["labelled"]


def test_every_side_effect_term_of_the_labels_has_lay_words(real_ref):
    from bontrack.reports.leaflets import lay_terms

    terms = {s.term.replace("(pediatric)", "").strip().lower()
             for p in real_ref.products.values() for s in p.side_effects}
    assert terms - set(lay_terms()) == set()


def test_side_effects_are_in_lay_words_with_the_medical_word_in_brackets(real_ref):
    from bontrack.reports.leaflets import plain_term

    assert plain_term("arthralgia") == "Joint pain (arthralgia)"
    assert plain_term("Myalgia (pediatric)") == "Muscle pain (myalgia)"
    assert plain_term("dry mouth") == "Dry mouth"  # already plain: no brackets
    assert plain_term("an unlisted term") == "an unlisted term"
    lf = leaflet(real_ref, "onabotulinumtoxinA", "upper_limb_spasticity", pediatric=False)
    assert all(s["how_many"] is None or s["how_many"].endswith("in 100 people")
               for s in lf["side_effects"])


def test_what_to_expect_gives_dates_from_the_labels_course_after_the_last_injections(real_ref):
    from datetime import date

    lf = leaflet(real_ref, "onabotulinumtoxinA", "blepharospasm", pediatric=False,
                 given_on=date(2026, 11, 2))
    onset = next(line for line in lf["expect"] if line.startswith("It starts to work"))
    # "within 3 days" is the label's (cited) onset: 2 Nov + 3 days
    assert "within 3 days" in onset and "by 5 November 2026" in onset and "source:" in onset
    assert any("not before 2 February 2027" in line for line in lf["expect"])


def test_without_a_timing_in_the_label_the_leaflet_says_so_and_invents_none(real_ref):
    lf = leaflet(real_ref, "onabotulinumtoxinA", "upper_limb_spasticity", pediatric=False)
    assert lf["expect"][0].startswith("The medicine's label gives no timing for this use")
    assert not any(ch.isdigit() for ch in lf["expect"][0])
