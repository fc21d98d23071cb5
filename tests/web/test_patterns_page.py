"""The planner's "start from a pattern": the rows are filled from the product's own label
(lower end of each range, the label's sites), muscles without a label dose are named."""

from __future__ import annotations

import re

from tests.web.test_hostile_input import Site, site  # noqa: F401  (the fixture)


def _units(html: str) -> list[str]:
    """The units of the injection rows (the row template's empty one left out)."""
    body = html.split('<template id="row-template">')[0]
    return re.findall(r'name="units"[^>]*value="([^"]*)"', body)


def test_start_from_a_pattern_fills_the_rows_from_the_label(site: Site) -> None:  # noqa: F811
    web = site.browser("doc")
    pid = site.made.get("patient") or site.ids["p1"]
    r = web.get(f"/patients/{pid}/cycles/new")
    assert r.status_code == 200 and 'id="start-pattern"' in r.text
    assert '<option value="flexed_elbow"' in r.text
    r = web.get(f"/patients/{pid}/cycles/new?pattern=flexed_elbow&product=incobotulinumtoxinA"
                "&side=right")
    assert r.status_code == 200, r.text
    assert _units(r.text) == ["25", "50", "25"]
    assert "Started from the pattern" in r.text and "XEOMIN label range" in r.text
    r = web.get(f"/patients/{pid}/cycles/new?pattern=flexed_wrist&product=onabotulinumtoxinA"
                "&side=left")
    assert "Not proposed: Flexor carpi radialis (no label dose for this product" in r.text
    r = web.get(f"/patients/{pid}/cycles/new?pattern=nonsense&side=left")
    assert r.status_code == 200 and "unknown pattern" in r.text
