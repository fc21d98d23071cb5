"""The body map: where each muscle sits on a front and a back figure (SVG coordinates).

Positions are given for the patient's LEFT side; the right side is mirrored. On the front
figure the patient's left is on the viewer's right; on the back figure, on the viewer's left.
Midline targets are drawn once. The figures are schematic: they help find and show a muscle,
they do not guide a needle (a few crowded points are spread apart so that each can be hit).

Zoom regions (face, neck, each arm, each leg) show parts of both figures side by side (or
one above the other), each part a nested SVG with its own viewBox, at a scale where every
point is a touch target of at least 26 CSS px (WCAG 2.5.8 asks 24) on a 300 px wide map
(a 375 px phone). The record's dose map draws the injected points with their units in
label columns beside the figures, joined by a line, so no label hides another.
"""

from __future__ import annotations

from dataclasses import dataclass

from bontrack.clinical.display import units_text

WIDTH = 200  # each figure's width; the back figure is drawn at x + WIDTH
CENTRE = 100

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


@dataclass(frozen=True)
class Point:
    muscle: str
    side: str
    x: int
    y: int


def points(paired: dict[str, bool]) -> list[Point]:
    """Every clickable point, for muscles the reference data knows (``paired`` by id)."""
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


#: the figure's outline, for one figure at x offset 0 (the back figure is drawn at + WIDTH)
SHAPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("circle", (100, 35, 22)), ("rect", (88, 55, 24, 20, 6)), ("rect", (68, 75, 64, 100, 14)),
    ("rect", (36, 82, 22, 70, 10)), ("rect", (142, 82, 22, 70, 10)),
    ("rect", (36, 150, 20, 70, 9)), ("rect", (144, 150, 20, 70, 9)),
    ("rect", (72, 172, 26, 100, 11)), ("rect", (102, 172, 26, 100, 11)),
    ("rect", (74, 270, 22, 70, 9)), ("rect", (104, 270, 22, 70, 9)),
)
HEIGHT = 350
PHONE_PX = 300  # the map's width on a 375 px phone (page and card padding taken off)
MAX_SCALE = 5.0  # CSS px per map unit at most, so a small region is not drawn huge
TARGET_PX = 26.0  # a point's diameter on screen when zoomed (WCAG 2.5.8: at least 24)
GAP = 4  # map units between the parts of a region


@dataclass(frozen=True)
class Box:
    """A part of the map (figure units): x, y, width, height."""
    x: float
    y: float
    w: float
    h: float

    def holds(self, px: float, py: float, margin: float = 0) -> bool:
        return (self.x + margin <= px <= self.x + self.w - margin
                and self.y + margin <= py <= self.y + self.h - margin)


@dataclass(frozen=True)
class Region:
    id: str
    label: str
    parts: tuple[tuple[str, Box], ...]  # (caption, box)
    stack: bool  # parts one above the other (else side by side)
    muscles: tuple[str, ...]  # the muscles the region is for (tested to be inside it)
    sides: tuple[str, ...]


_ARM = ("pectoralis_major", "deltoid", "axilla", "biceps_brachii", "brachialis",
        "brachioradialis", "pronator_teres", "flexor_carpi_radialis",
        "flexor_digitorum_superficialis", "flexor_carpi_ulnaris", "flexor_digitorum_profundus",
        "flexor_pollicis_longus", "pronator_quadratus", "adductor_pollicis",
        "flexor_pollicis_brevis", "lumbricals", "triceps_brachii", "teres_major",
        "latissimus_dorsi", "subscapularis")
_LEG = ("iliopsoas", "rectus_femoris", "adductor_longus", "adductor_magnus", "gracilis",
        "tibialis_anterior", "extensor_hallucis_longus", "semitendinosus", "semimembranosus",
        "biceps_femoris", "gastrocnemius_medial_head", "gastrocnemius_lateral_head",
        "gastrocnemius", "soleus", "tibialis_posterior", "flexor_digitorum_longus",
        "flexor_hallucis_longus")

#: the zoom regions; the viewer's left of the front figure is the patient's right
REGIONS: tuple[Region, ...] = (
    Region("face", "Face and head", (("front", Box(75, 14, 50, 50)),
                                     ("back", Box(286, 10, 28, 20))), False,
           ("frontalis", "corrugator_supercilii", "procerus", "orbicularis_oculi", "temporalis",
            "masseter", "parotid_gland", "submandibular_gland", "occipitalis"),
           ("left", "right", "midline")),
    Region("neck", "Neck", (("front", Box(84, 58, 32, 22)), ("back", Box(272, 46, 56, 38))),
           True, ("platysma", "sternocleidomastoid", "splenius_capitis", "semispinalis_capitis",
                  "levator_scapulae", "trapezius", "cervical_paraspinal", "scalene_complex"),
           ("left", "right", "midline")),
    Region("arm_right", "Right arm", (("front", Box(27, 84, 56, 148)),
                                      ("back", Box(315, 92, 36, 46))), False,
           _ARM, ("right",)),
    Region("arm_left", "Left arm", (("front", Box(117, 84, 56, 148)),
                                    ("back", Box(249, 92, 36, 46))), False,
           _ARM, ("left",)),
    Region("leg_right", "Right leg", (("front", Box(76, 170, 20, 160)),
                                      ("back", Box(304, 226, 22, 108))), False,
           _LEG, ("right",)),
    Region("leg_left", "Left leg", (("front", Box(104, 170, 20, 160)),
                                    ("back", Box(274, 226, 22, 108))), False,
           _LEG, ("left",)),
)


@dataclass(frozen=True)
class Part:
    caption: str
    box: Box
    x: float  # where the part sits in the region's drawing
    y: float
    points: tuple[Point, ...]


@dataclass(frozen=True)
class RegionView:
    id: str
    label: str
    width: float  # map units
    height: float
    scale: float  # CSS px per map unit on a phone-sized map
    r: float  # a point's radius in map units
    parts: tuple[Part, ...]

    @property
    def px_width(self) -> int:
        return round(self.width * self.scale)

    @property
    def px_height(self) -> int:
        return round(self.height * self.scale)

    @property
    def shown_width(self) -> int:
        """The drawing's width on a wider screen: up to 1.6 times the phone size, within
        480 px wide and 900 px tall; a narrower map shrinks it (never below the phone size
        on a 375 px phone, where the map is about 300 px wide)."""
        phone = self.width * self.scale
        return round(max(phone, min(phone * 1.6, 480, 900 * self.width / self.height)))

    @property
    def shown_height(self) -> int:
        return round(self.shown_width * self.height / self.width)


def region_views(pts: list[Point]) -> list[RegionView]:
    """Each zoom region laid out, with the points wholly inside each of its parts."""
    views: list[RegionView] = []
    for region in REGIONS:
        boxes = [box for _, box in region.parts]
        if region.stack:
            width = max(b.w for b in boxes)
            height = sum(b.h for b in boxes) + GAP * (len(boxes) - 1)
        else:
            width = sum(b.w for b in boxes) + GAP * (len(boxes) - 1)
            height = max(b.h for b in boxes)
        scale = min(MAX_SCALE, PHONE_PX / width)
        r = TARGET_PX / 2 / scale
        parts: list[Part] = []
        at = 0.0
        for caption, box in region.parts:
            inside = tuple(p for p in pts if box.holds(p.x, p.y, r))
            x, y = (0.0, at) if region.stack else (at, 0.0)
            parts.append(Part(caption, box, x, y, inside))
            at += (box.h if region.stack else box.w) + GAP
        views.append(RegionView(region.id, region.label, width, height, scale, r,
                                tuple(parts)))
    return views


@dataclass(frozen=True)
class Choice:
    """A muscle and side for the searchable list (muscles without a point included)."""
    muscle: str
    side: str
    label: str
    on_map: bool


def choices(paired: dict[str, bool], names: dict[str, str], pts: list[Point]) -> list[Choice]:
    on_map = {(p.muscle, p.side) for p in pts}
    out: list[Choice] = []
    for muscle in sorted(paired, key=lambda m: str(names.get(m, m)).lower()):
        for side in (("left", "right") if paired[muscle] else ("midline",)):
            out.append(Choice(muscle, side, f"{names.get(muscle, muscle)}, {side}",
                              (muscle, side) in on_map))
    return out


# --- the record's dose map -----------------------------------------------------------------

COLUMN = 70  # width of a label column (map units)
LINE = 14  # label spacing
FRONT_AT = COLUMN  # the front figure's x offset in the dose map
BACK_AT = COLUMN + WIDTH + COLUMN - WIDTH  # added to a back point's x (already + WIDTH)


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
             names: dict[str, str]) -> DoseMap:
    """The cycle's injections on the figures: each muscle and side once, its amounts (one
    product per cycle, so all in that product's units) listed, never converted."""
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
    # columns: left of the front figure, between the figures, right of the back figure
    columns: dict[str, list[tuple[Point, str]]] = {"a": [], "b": [], "c": []}
    for p, text in placed:
        if p.x < CENTRE:
            columns["a"].append((p, text))
        elif p.x < WIDTH + CENTRE:
            columns["b"].append((p, text))
        else:
            columns["c"].append((p, text))
    marks: list[DoseMark] = []
    mid = COLUMN + WIDTH + COLUMN / 2
    for col, items in columns.items():
        items.sort(key=lambda it: (it[0].y, it[0].x))
        ys = _spread([float(p.y) for p, _ in items], 12, HEIGHT - 4)
        for (p, text), ly in zip(items, ys, strict=True):
            x = p.x + (FRONT_AT if p.x < WIDTH else BACK_AT)
            if col == "a":
                lx, anchor, line_x = COLUMN - 4.0, "end", COLUMN - 2.0
            elif col == "c":
                lx = COLUMN * 2 + WIDTH * 2 + 4.0
                anchor, line_x = "start", lx - 2
            else:
                lx, anchor = mid, "middle"
                line_x = mid - COLUMN / 2 + 2 if x < mid else mid + COLUMN / 2 - 2
            marks.append(DoseMark(p, f"{names.get(p.muscle, p.muscle)} ({p.side})", text,
                                  x, p.y, lx, ly, anchor, line_x))
    return DoseMap(COLUMN * 3 + WIDTH * 2, HEIGHT, tuple(marks), tuple(off_map))
