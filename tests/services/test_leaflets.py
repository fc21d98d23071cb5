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
