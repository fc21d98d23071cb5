"""The planner's body map: zoom regions and the searchable list of muscles. Where each muscle
sits on the front and back figures (and the record's dose map) is in
``bontrack.reports.body_map``, shared with the PDF cycle summary.

Zoom regions (face, neck, each arm, each leg) show parts of both figures side by side (or
one above the other), each part a nested SVG with its own viewBox, at a scale where every
point is a touch target of at least 26 CSS px (WCAG 2.5.8 asks 24) on a 300 px wide map
(a 375 px phone).
"""

from __future__ import annotations

from dataclasses import dataclass

from bontrack.reports.body_map import Point

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
