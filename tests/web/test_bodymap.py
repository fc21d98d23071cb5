"""The body map's drawing (bontrack.web.bodymap, bontrack.reports.body_map and their
templates): every point is named, each zoom region holds its muscles' points at touch size
without overlapping them, and the record's dose map labels each injected point with its units
(issue 17, item 3), wide on a screen and stacked (front above back) on a phone."""

from __future__ import annotations

import itertools
import math
import re
from html.parser import HTMLParser

import pytest

from bontrack.reference import default_reference
from bontrack.reports import body_map
from bontrack.web import bodymap
from bontrack.web.rendering import TEMPLATES

REF = default_reference()
PAIRED = {m.id: m.paired for m in REF.muscles.values()}
NAMES = {m.id: m.name for m in REF.muscles.values()}
POINTS = body_map.points(PAIRED)
VIEWS = {v.id: v for v in bodymap.region_views(POINTS)}
REGIONS = {r.id: r for r in bodymap.REGIONS}


class Points(HTMLParser):
    """The body map points in some HTML, each with its attributes and <title> text."""

    def __init__(self) -> None:
        super().__init__()
        self.points: list[dict[str, str]] = []
        self._in: dict[str, str] | None = None
        self._title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "circle" and "bm-point" in a.get("class", ""):
            self._in = {**a, "title": ""}
            self.points.append(self._in)
        elif tag == "title" and self._in is not None:
            self._title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._title = False
        elif tag == "circle":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._title and self._in is not None:
            self._in["title"] += data


def planner_map() -> str:
    return TEMPLATES.get_template("_bodymap.html").render(
        points=POINTS, names=NAMES, shapes=body_map.SHAPES, regions=list(VIEWS.values()),
        choices=bodymap.choices(PAIRED, NAMES, POINTS), chosen=set())


def test_every_point_is_named_with_its_muscle_and_side_and_reachable_by_keyboard():
    parser = Points()
    parser.feed(planner_map())
    # the whole body once, and each zoomed region again
    assert len(parser.points) == len(POINTS) + sum(
        len(part.points) for v in VIEWS.values() for part in v.parts)
    assert len(POINTS) > 100
    for p in parser.points:
        name = NAMES[p["data-muscle"]]
        assert p["title"] == f"{name} ({p['data-side']})"
        assert p["aria-label"] == f"{name}, {p['data-side']}"
        assert p["tabindex"] == "0" and p["role"] == "button"


def test_the_searchable_list_has_every_muscle_and_side_even_those_not_drawn():
    html = planner_map()
    options = re.findall(r'role="option" id="bm-opt-(\w+)-(left|right|midline)"', html)
    want = {(m, s) for m, paired in PAIRED.items()
            for s in (("left", "right") if paired else ("midline",))}
    assert set(options) == want
    assert (f'{NAMES["detrusor"]}, midline <small class="muted">(not on the map)</small>'
            in html)


@pytest.mark.parametrize("region", [r.id for r in bodymap.REGIONS])
def test_each_zoom_region_holds_its_muscles_points(region):
    spec, view = REGIONS[region], VIEWS[region]
    drawn = {(p.muscle, p.side) for part in view.parts for p in part.points}
    wanted = {(p.muscle, p.side) for p in POINTS
              if p.muscle in spec.muscles and p.side in spec.sides}
    assert wanted and wanted <= drawn
    for part in view.parts:  # drawn whole: never cut by the part's edge
        for p in part.points:
            assert part.box.holds(p.x, p.y, view.r)


@pytest.mark.parametrize("region", [r.id for r in bodymap.REGIONS])
def test_zoomed_points_are_touch_targets_that_do_not_overlap(region):
    view = VIEWS[region]
    # drawn at most PHONE_PX wide, so on a 375 px phone each point is >= 24 CSS px
    assert view.px_width <= bodymap.PHONE_PX
    assert 2 * view.r * view.scale >= 24
    assert view.shown_width >= view.px_width  # a wider screen never draws it smaller
    for part in view.parts:
        for i, a in enumerate(part.points):
            for b in part.points[i + 1:]:
                assert math.dist((a.x, a.y), (b.x, b.y)) >= 2 * view.r, (a, b)


def test_arm_zoom_shows_only_that_side():
    left = {p.side for part in VIEWS["arm_left"].parts for p in part.points}
    assert left == {"left"}


INJECTIONS = [
    {"muscle": "biceps_brachii", "side": "left", "units": 100, "sites": 4},
    {"muscle": "brachioradialis", "side": "left", "units": 40, "sites": 2},
    {"muscle": "flexor_carpi_radialis", "side": "left", "units": 12.5, "sites": 1},
    {"muscle": "flexor_carpi_ulnaris", "side": "left", "units": 20, "sites": 1},
    {"muscle": "flexor_carpi_ulnaris", "side": "left", "units": 10, "sites": 1},
    {"muscle": "splenius_capitis", "side": "right", "units": 50, "sites": 2},
    {"muscle": "detrusor", "side": "midline", "units": 100, "sites": 20},
]


@pytest.mark.parametrize("layout", ["wide", "stacked"])
def test_the_dose_map_labels_each_injected_point_with_its_units(layout):
    dm = body_map.dose_map(INJECTIONS, PAIRED, NAMES, layout)
    by = {(m.point.muscle, m.point.side): m for m in dm.marks}
    assert by[("biceps_brachii", "left")].text == "100 U"
    assert by[("flexor_carpi_radialis", "left")].text == "12.5 U"
    # two rows in one muscle and side: both amounts, in the cycle's one product's units
    assert by[("flexor_carpi_ulnaris", "left")].text == "20 + 10 U"
    assert dm.off_map == (f"{NAMES['detrusor']}, midline: 100 U",)  # no point: said in words
    # labels in one column never overlap, and stay on the drawing
    for column in {m.label_x for m in dm.marks}:
        ys = sorted(m.label_y for m in dm.marks if m.label_x == column)
        assert all(b - a >= body_map.LINE for a, b in itertools.pairwise(ys))
        assert ys[0] > 0 and ys[-1] <= dm.height


def test_the_record_svg_draws_the_dose_labels():
    dm = body_map.dose_map(INJECTIONS, PAIRED, NAMES)
    html = TEMPLATES.get_template("_dose_map.html").render(
        dose_map=dm, shapes=body_map.SHAPES, c={"product": "onabotulinumtoxinA"})
    labels = re.findall(r'<text class="dm-label"[^>]*>([^<]+)</text>', html)
    assert sorted(labels) == sorted(["100 U", "40 U", "12.5 U", "20 + 10 U", "50 U"])
    assert "<title>Biceps brachii (left): 100 U</title>" in html
    assert f"Not on the map: {NAMES['detrusor']}, midline: 100 U" in html


def test_on_a_phone_the_dose_map_stacks_front_above_back_with_labels_beside_each_figure():
    wide = body_map.dose_map(INJECTIONS, PAIRED, NAMES)
    dm = body_map.dose_map(INJECTIONS, PAIRED, NAMES, "stacked")
    # narrow enough to be read at a phone's width (340 map units for about 300 px)
    assert dm.width == 2 * body_map.COLUMN + body_map.WIDTH < wide.width
    assert dm.height == 2 * body_map.HEIGHT
    assert {(m.point, m.text) for m in dm.marks} == {(m.point, m.text) for m in wide.marks}
    for m in dm.marks:
        back = m.point.x >= body_map.WIDTH
        band = (body_map.HEIGHT, dm.height) if back else (0, body_map.HEIGHT)
        # the point on its own figure, its label beside that figure, in the map's edges
        assert band[0] <= m.y <= band[1] and band[0] < m.label_y <= band[1], m
        assert body_map.COLUMN <= m.x <= body_map.COLUMN + body_map.WIDTH
        assert m.anchor in ("end", "start")
        assert m.label_x < body_map.COLUMN or m.label_x > body_map.COLUMN + body_map.WIDTH


def test_the_record_draws_both_layouts_with_their_own_titles():
    html = TEMPLATES.get_template("_dose_map.html").render(
        dose_map=body_map.dose_map(INJECTIONS, PAIRED, NAMES),
        dose_map_stacked=body_map.dose_map(INJECTIONS, PAIRED, NAMES, "stacked"),
        c={"product": "onabotulinumtoxinA"})
    assert html.count("<svg ") == 2
    assert 'class="dm-wide"' in html and 'class="dm-stacked"' in html
    ids = re.findall(r'<title id="([^"]+)"', html)
    assert sorted(ids) == ["dose-map-title-stacked", "dose-map-title-wide"]
    for i in ids:
        assert html.count(f'aria-labelledby="{i}"') == 1


def test_a_cycle_without_injections_draws_no_dose_map():
    dm = body_map.dose_map([], PAIRED, NAMES)
    html = TEMPLATES.get_template("_dose_map.html").render(dose_map=dm, shapes=body_map.SHAPES,
                                                           c={"product": "x"})
    assert html.strip() == ""


def test_a_column_crowded_with_labels_stays_on_the_drawing():
    ys = [float(y) for y in range(100, 130)]  # 30 labels at nearly one height
    out = body_map._spread(ys, 12, 346)
    assert out[0] >= 12 - 1e-9 and out[-1] <= 346
    assert all(b - a >= 11 for a, b in itertools.pairwise(out))
