"""Issue 15: identifiers and names are stored as they read. Full-width digits fold to one
MRN (a look-alike is the same patient, not a second one); zero-width characters and
right-to-left overrides are refused naming the field; ordinary accents and the joiners some
scripts need are kept."""

from __future__ import annotations

import pytest

PATIENT = {"display_name": "Ana Lima", "birth_date": "1970-01-02"}


def create(api, **over):
    return api.post("doc", "/api/v1/patients", json={**PATIENT, **over})


def test_a_full_width_mrn_is_the_same_mrn(api):
    first = create(api, mrn="ＵＮＩ１２３")
    assert first.status_code == 201, first.text
    assert first.json()["mrn"] == "UNI123"
    again = create(api, mrn="UNI123")
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "mrn"


@pytest.mark.parametrize("field,value", [
    ("mrn", "UNI\u200b124"),           # zero-width space
    ("mrn", "\ufeffUNI125"),           # byte-order mark
    ("display_name", "Ana \u202eamiL"),  # right-to-left override
    ("display_name", "Ana\u2066 Lima"),  # left-to-right isolate
    ("display_name", "Ana\u200bLima"),   # zero-width space
])
def test_invisible_formatting_is_refused_naming_the_field(api, field, value):
    body = {"mrn": "UNI200", **{field: value}}
    r = create(api, **body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert "invisible formatting character" in r.text


def test_accents_and_joiners_are_kept(api):
    r = create(api, mrn="UNI300", display_name="Zoë Ångström")
    assert r.status_code == 201 and r.json()["display_name"] == "Zoë Ångström"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # a ZWNJ inside a word
    r = create(api, mrn="UNI301", display_name=persian)
    assert r.status_code == 201 and r.json()["display_name"] == persian
