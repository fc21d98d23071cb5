"""The body map: where each muscle sits on a front and a back figure (SVG coordinates).

Positions are given for the patient's LEFT side; the right side is mirrored. On the front
figure the patient's left is on the viewer's right; on the back figure, on the viewer's left.
Midline targets are drawn once. The figures are schematic: they help find and show a muscle,
they do not guide a needle.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 200  # each figure's width; the back figure is drawn at x + WIDTH
CENTRE = 100

#: (muscle id, view, x offset from the midline for the LEFT side, y); x = 0 for midline.
POINTS: tuple[tuple[str, str, int, int], ...] = (
    ("frontalis", "front", 8, 22), ("corrugator_supercilii", "front", 6, 30),
    ("procerus", "front", 0, 33), ("orbicularis_oculi", "front", 12, 36),
    ("temporalis", "front", 19, 30), ("masseter", "front", 13, 48),
    ("parotid_gland", "front", 18, 46), ("submandibular_gland", "front", 9, 56),
    ("platysma", "front", 9, 66), ("sternocleidomastoid", "front", 7, 72),
    ("pectoralis_major", "front", 22, 100), ("deltoid", "front", 40, 92),
    ("axilla", "front", 36, 110), ("biceps_brachii", "front", 46, 125),
    ("brachialis", "front", 50, 140), ("brachioradialis", "front", 56, 160),
    ("pronator_teres", "front", 50, 160), ("flexor_carpi_radialis", "front", 54, 175),
    ("flexor_digitorum_superficialis", "front", 58, 183),
    ("flexor_carpi_ulnaris", "front", 48, 182),
    ("flexor_digitorum_profundus", "front", 52, 190), ("flexor_pollicis_longus", "front", 60, 196),
    ("pronator_quadratus", "front", 56, 204), ("adductor_pollicis", "front", 64, 216),
    ("flexor_pollicis_brevis", "front", 66, 222), ("lumbricals", "front", 58, 226),
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
