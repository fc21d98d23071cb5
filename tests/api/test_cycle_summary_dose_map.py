"""Issue 17, item 3: the PDF cycle summary draws the doses on the body map, as the record and
its print view do (the same drawing, bontrack.reports.body_map): each injected muscle and
side labelled with its units, in text the PDF carries, and a muscle with no point on the
figures named under the map. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from tests.api.conftest import uls_cycle


def pdf_pages(body: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(body)).pages]


def test_the_cycle_summary_pdf_draws_each_injected_muscle_with_its_units_on_the_map(api, web):
    p = api.ids["p1"]
    assert api.post("doc", f"/api/v1/patients/{p}/conditions",
                    {"indication": "upper_limb_spasticity"}).status_code == 201
    r = api.post("doc", f"/api/v1/patients/{p}/cycles", uls_cycle(injections=[
        {"muscle": "biceps_brachii", "side": "left", "units": 60, "sites": 2},
        {"muscle": "biceps_brachii", "side": "left", "units": 40, "sites": 1},
        {"muscle": "flexor_carpi_radialis", "side": "right", "units": 12.5, "sites": 1},
        {"muscle": "triceps_brachii", "side": "left", "units": 30, "sites": 1},
        {"muscle": "opponens_pollicis", "side": "left", "units": 5, "sites": 1}]))
    assert r.status_code == 201, r.text
    cycle = r.json()
    response = web("doc").get(f"/cycles/{cycle['id']}/summary.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/pdf")
    text = "\n".join(pdf_pages(response.content))
    lines = {line.strip() for line in text.splitlines()}
    # the map is there: its heading and both figures' captions (the SVG's own text, each a
    # line of its own in the PDF's text)
    assert "Doses on the body map" in lines
    assert {"front", "back"} <= lines, lines
    # each injected muscle and side with a point: its units label, the rows of one muscle and
    # side together (the table lists the amounts without " U", so these are the map's)
    assert {"60 + 40 U", "12.5 U", "30 U"} <= lines, lines
    # a muscle with no point is named in words under the map, with its units
    assert "Not on the map: Opponens pollicis, left: 5 U." in " ".join(text.split())
    # the record draws the same labels (one drawing for the record and the PDF)
    page = web("doc").get(f"/cycles/{cycle['id']}").text
    drawn = re.findall(r'<text class="dm-label"[^>]*>([^<]+)</text>', page)
    assert {"60 + 40 U", "12.5 U", "30 U"} <= set(drawn)
