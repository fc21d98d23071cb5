"""The body figures and the cycle's dose map, shared by the web record, its print view and the
PDF cycle summary (issue 17, item 3: "doses drawn on the map in the record and the print
view"). The planner's clickable map (zoom regions, searchable list) is in ``bontrack.web.
bodymap`` and reads its points from here.

Positions are given for the patient's LEFT side; the right side is mirrored. On the front
figure the patient's left is on the viewer's right; on the back figure, on the viewer's left.
Midline targets are drawn once. The figures are schematic: they help find and show a muscle,
they do not guide a needle (a few crowded points are spread apart so that each can be hit).

The dose map draws each injected muscle and side as a ringed dot joined by a line to its
units in a label column beside the figures, so no label hides another. Its meaning is carried
by text and shape, never by colour (the SVG carries black-on-white presentation attributes, so
it reads the same on a page, on paper and in the PDF); a muscle with no point on the figures
is named in words under the map. Two layouts: ``wide`` (front and back side by side, three
label columns) for a screen, the print view and the PDF; ``stacked`` (front above back, a
label column on each side) for a phone, where the wide drawing would be too small to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from bontrack.clinical.display import units_text

WIDTH = 200  # each figure's width; the back figure is drawn at x + WIDTH
CENTRE = 100
HEIGHT = 350

#: (muscle id, view, x offset from the midline for the LEFT side, y); x = 0 for midline.
POINTS: tuple[tuple[str, str, int, int], ...] = (
    ("frontalis", "front", 8, 22), ("corrugator_supercilii", "front", 6, 30),
    ("procerus", "front", 0, 34), ("orbicularis_oculi", "front", 12, 36),
    ("temporalis", "front", 19, 30), ("masseter", "front", 13, 48),
    ("parotid_gland", "front", 20, 44), ("submandibular_gland", "front", 9, 56),
    ("platysma", "front", 9, 66), ("sternocleidomastoid", "front", 7, 72),
    ("pectoralis_major", "front", 22, 100), ("deltoid", "front", 40, 92),
    ("axilla", "front", 36, 110), ("biceps_brachii", "front", 46, 125),
    ("brachialis", "front", 50, 140), ("brachioradialis", "front", 56, 160),
    ("pronator_teres", "front", 47, 163), ("flexor_carpi_radialis", "front", 54, 175),
    ("flexor_digitorum_superficialis", "front", 58, 183),
    ("flexor_carpi_ulnaris", "front", 48, 182),
    ("flexor_digitorum_profundus", "front", 52, 190), ("flexor_pollicis_longus", "front", 60, 196),
    ("pronator_quadratus", "front", 56, 204), ("adductor_pollicis", "front", 64, 216),
    ("flexor_pollicis_brevis", "front", 68, 224), ("lumbricals", "front", 58, 226),
    ("iliopsoas", "front", 16, 178), ("rectus_femoris", "front", 20, 215),
    ("adductor_longus", "front", 10, 210), ("adductor_magnus", "front", 12, 226),
    ("gracilis", "front", 8, 240), ("tibialis_anterior", "front", 20, 295),
    ("extensor_hallucis_longus", "front", 18, 320),
    ("occipitalis", "back", 8, 20), ("splenius_capitis", "back", 7, 58),
    ("semispinalis_capitis", "back", 3, 54), ("levator_scapulae", "back", 14, 70),
    ("trapezius", "back", 22, 78), ("cervical_paraspinal", "back", 4, 66),
    ("scalene_complex", "back", 12, 62), ("latissimus_dorsi", "back", 24, 125),
    ("teres_major", "back", 30, 105), ("subscapularis", "back", 20, 100),
    ("triceps_brachii", "back", 46, 130), ("semitendinosus", "back", 9, 235),
    ("semimembranosus", "back", 12, 245), ("biceps_femoris", "back", 22, 235),
    ("gastrocnemius_medial_head", "back", 12, 285), ("gastrocnemius_lateral_head", "back", 22, 285),
    ("gastrocnemius", "back", 17, 278), ("soleus", "back", 17, 305),
    ("tibialis_posterior", "back", 15, 318), ("flexor_digitorum_longus", "back", 12, 328),
    ("flexor_hallucis_longus", "back", 21, 328),
)

#: the figure's outline, for one figure at x offset 0 (the back figure is drawn at + WIDTH)
SHAPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("circle", (100, 35, 22)), ("rect", (88, 55, 24, 20, 6)), ("rect", (68, 75, 64, 100, 14)),
    ("rect", (36, 82, 22, 70, 10)), ("rect", (142, 82, 22, 70, 10)),
    ("rect", (36, 150, 20, 70, 9)), ("rect", (144, 150, 20, 70, 9)),
    ("rect", (72, 172, 26, 100, 11)), ("rect", (102, 172, 26, 100, 11)),
    ("rect", (74, 270, 22, 70, 9)), ("rect", (104, 270, 22, 70, 9)),
)


@dataclass(frozen=True)
class Point:
    muscle: str
    side: str
    x: int
    y: int


def points(paired: dict[str, bool]) -> list[Point]:
    """Every point on the figures, for muscles the reference data knows (``paired`` by id)."""
    out: list[Point] = []
    for muscle, view, dx, y in POINTS:
        if muscle not in paired:
            continue
        base = 0 if view == "front" else WIDTH
        if not paired[muscle] or dx == 0:
            out.append(Point(muscle, "midline", base + CENTRE, y))
            continue
        # front: patient's left on the viewer's right; back: on the viewer's left
        left_x = CENTRE + dx if view == "front" else CENTRE - dx
        right_x = CENTRE - dx if view == "front" else CENTRE + dx
        out.append(Point(muscle, "left", base + left_x, y))
        out.append(Point(muscle, "right", base + right_x, y))
    return out


# --- the dose map --------------------------------------------------------------------------

COLUMN = 70  # width of a label column (map units)
LINE = 14  # label spacing
Layout = Literal["wide", "stacked"]


@dataclass(frozen=True)
class DoseMark:
    point: Point
    name: str
    text: str  # "50 U", "20 + 10 U"
    x: float  # the point in the dose map
    y: float
    label_x: float  # where the label's text is anchored
    label_y: float
    anchor: str  # "end" | "middle" | "start"
    line_x: float  # where the leader line meets the label column


@dataclass(frozen=True)
class DoseMap:
    width: int
    height: int
    marks: tuple[DoseMark, ...]
    off_map: tuple[str, ...]  # injections with no point ("Detrusor, midline: 100 U")
    layout: Layout = "wide"
    #: where each figure is drawn: (view, x, y) of its top left corner
    figures: tuple[tuple[str, int, int], ...] = (("front", COLUMN, 0),
                                                 ("back", COLUMN * 2 + WIDTH, 0))


def _spread(ys: list[float], top: float, bottom: float) -> list[float]:
    """Label heights near their points' heights, at least LINE apart, within the map."""
    # many labels in one column: closer together rather than off the drawing
    step = min(LINE, (bottom - top) / (len(ys) - 1)) if len(ys) > 1 else LINE
    out: list[float] = []
    for y in ys:
        out.append(max(y, top, out[-1] + step if out else top))
    for i in range(len(out) - 1, -1, -1):
        limit = bottom if i == len(out) - 1 else out[i + 1] - step
        out[i] = min(out[i], limit)
    return out


def dose_map(injections: list[dict[str, object]], paired: dict[str, bool],
             names: dict[str, str], layout: Layout = "wide") -> DoseMap:
    """The cycle's injections on the figures: each muscle and side once, its amounts (one
    product per cycle, so all in that product's units) listed, never converted.

    ``wide``: front and back side by side, labels left of the front figure, between the
    figures and right of the back figure. ``stacked``: front above back, labels left and
    right of each figure (the viewer's left and right halves of it)."""
    stacked = layout == "stacked"
    where = {(p.muscle, p.side): p for p in points(paired)}
    amounts: dict[tuple[str, str], list[str]] = {}
    for inj in injections:
        key = (str(inj["muscle"]), str(inj["side"]))
        amounts.setdefault(key, []).append(units_text(inj["units"]))
    placed: list[tuple[Point, str]] = []
    off_map: list[str] = []
    for (muscle, side), amts in amounts.items():
        text = " + ".join(amts) + " U"
        name = names.get(muscle, muscle.replace("_", " "))
        if (muscle, side) in where:
            placed.append((where[(muscle, side)], text))
        else:
            off_map.append(f"{name}, {side}: {text}")
    if stacked:
        figures = (("front", COLUMN, 0), ("back", COLUMN, HEIGHT))
        width, height = COLUMN * 2 + WIDTH, HEIGHT * 2
    else:
        figures = (("front", COLUMN, 0), ("back", COLUMN * 2 + WIDTH, 0))
        width, height = COLUMN * 3 + WIDTH * 2, HEIGHT
    at = {view: (fx, fy) for view, fx, fy in figures}
    # columns: "a" the left edge, "b" between the figures (wide only), "c" the right edge;
    # band 1 is the back figure's height when stacked
    groups: dict[tuple[str, int], list[tuple[float, float, Point, str]]] = {}
    for p, text in placed:
        view = "back" if p.x >= WIDTH else "front"
        fx, fy = at[view]
        local_x = p.x - (WIDTH if view == "back" else 0)
        x, y = float(fx + local_x), float(fy + p.y)
        viewer_left = local_x < CENTRE
        column: tuple[str, int]
        if stacked:
            column = ("a" if viewer_left else "c", 1 if view == "back" else 0)
        elif view == "front":
            column = ("a" if viewer_left else "b", 0)
        else:
            column = ("b" if viewer_left else "c", 0)
        groups.setdefault(column, []).append((x, y, p, text))
    marks: list[DoseMark] = []
    mid = COLUMN + WIDTH + COLUMN / 2
    for (col, band), items in sorted(groups.items(), key=lambda kv: kv[0]):
        items.sort(key=lambda it: (it[1], it[0]))
        top = band * HEIGHT
        ys = _spread([y for _, y, _, _ in items], top + 12, top + HEIGHT - 4)
        for (x, y, p, text), ly in zip(items, ys, strict=True):
            if col == "a":
                lx, anchor, line_x = COLUMN - 4.0, "end", COLUMN - 2.0
            elif col == "c":
                lx = width - COLUMN + 4.0
                anchor, line_x = "start", lx - 2
            else:
                lx, anchor = mid, "middle"
                line_x = mid - COLUMN / 2 + 2 if x < mid else mid + COLUMN / 2 - 2
            marks.append(DoseMark(p, f"{names.get(p.muscle, p.muscle)} ({p.side})", text,
                                  x, y, lx, ly, anchor, line_x))
    return DoseMap(width, height, tuple(marks), tuple(off_map), layout, figures)


_SVG = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                   autoescape=select_autoescape(["html", "svg"]))


def dose_map_svg(dm: DoseMap) -> Markup:
    """The dose map as one inline ``<svg>`` (empty when no injection has a point): the same
    markup on the record, its print view and in the PDF."""
    if not dm.marks:
        return Markup("")
    return Markup(_SVG.get_template("_dose_map.svg").render(
        dm=dm, shapes=SHAPES, title_id=f"dose-map-title-{dm.layout}"))
