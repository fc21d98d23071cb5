"""The planner's check fragment (_check.html) never shows a bare "No findings": it says which
checks could not run ("ok — N checks not available") or that every check ran."""

from __future__ import annotations

from bontrack.clinical.check import check_plan
from bontrack.clinical.plan import read_plan
from bontrack.clinical.result import result_dict
from bontrack.reference import default_reference
from bontrack.web.rendering import TEMPLATES

REF = default_reference()


def fragment(doc: dict) -> str:
    result = result_dict(check_plan(read_plan(doc, REF), REF), REF)
    template = TEMPLATES.get_template("_check.html")
    return template.render(check={"result": result}, overrides={})


def test_the_planner_says_how_many_checks_were_not_available():
    html = fragment(
        {
            "date": "2026-11-24",
            "patient": {"age_years": 50},
            "product": "DAXXIFY",
            "indication": "cervical_dystonia",
            "injections": [
                {"muscle": "splenius_capitis", "side": "left", "units": 50, "sites": 2}
            ],
        }
    )
    assert 'id="checks-not-available"' in html
    assert "checks not available" in html and "interval" in html
    assert "No findings" not in html
