"""Outcome scales: the values each scale allows, read from what a clinician types.

Scale definitions (not dose limits): Modified Ashworth Scale 0, 1, 1+, 2, 3, 4 (Bohannon &
Smith, Phys Ther 1987;67:206-7), stored with 1+ as 1.5 for ordering; Tardieu spasticity
angle X 0-5 (Tardieu 1954, as modified by Boyd & Graham 1999); range of motion in degrees;
Penn Spasm Frequency Scale 0-4 (Penn et al., NEJM 1989;320:1517-21); spasm intensity 0-3
(the Penn severity item); TWSTRS total 0-85 (Consky & Lang 1994); monthly headache days
0-31; HDSS 1-4 (Solish et al., Dermatol Surg 2007;33:908-23); Goal Attainment Scaling -2..+2
(Kiresuk & Sherman 1968); Patient Global Impression of Change 1-7 (Guy, ECDEU 1976); pain
numeric rating 0-10.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bontrack.errors import ScaleError as ScaleError  # re-exported for its users


@dataclass(frozen=True)
class Scale:
    id: str
    name: str
    low: Decimal
    high: Decimal
    whole: bool = True
    labels: tuple[tuple[str, Decimal], ...] = ()
    lower_is_better: bool = True


MAS = (("0", Decimal(0)), ("1", Decimal(1)), ("1+", Decimal("1.5")), ("2", Decimal(2)),
       ("3", Decimal(3)), ("4", Decimal(4)))

SCALES: dict[str, Scale] = {
    s.id: s
    for s in (
        Scale("modified_ashworth", "Modified Ashworth Scale", Decimal(0), Decimal(4),
              labels=MAS),
        Scale("tardieu_x", "Tardieu spasticity angle quality (X)", Decimal(0), Decimal(5)),
        Scale("rom_degrees", "Range of motion (degrees)", Decimal(0), Decimal(360),
              whole=False, lower_is_better=False),
        Scale("spasm_frequency", "Penn spasm frequency", Decimal(0), Decimal(4)),
        Scale("spasm_intensity", "Spasm intensity", Decimal(0), Decimal(3)),
        Scale("twstrs_total", "TWSTRS total", Decimal(0), Decimal(85), whole=False),
        Scale("headache_days", "Monthly headache days", Decimal(0), Decimal(31)),
        Scale("hdss", "Hyperhidrosis Disease Severity Scale", Decimal(1), Decimal(4)),
        Scale("gas", "Goal Attainment Scaling level", Decimal(-2), Decimal(2),
              lower_is_better=False),
        Scale("pgic", "Patient Global Impression of Change", Decimal(1), Decimal(7)),
        Scale("pain_nrs", "Pain numeric rating", Decimal(0), Decimal(10)),
    )
}


def read_value(scale_id: str, raw: object) -> tuple[Decimal, str]:
    """(numeric value for ordering and charts, the value as the scale writes it)."""
    scale = SCALES.get(scale_id)
    if scale is None:
        raise ScaleError("scale", f"unknown scale {scale_id!r}; known: {', '.join(SCALES)}")
    text = str(raw).strip()
    for label, value in scale.labels:
        if text == label:
            return value, label
    if scale.labels:
        allowed = ", ".join(lbl for lbl, _ in scale.labels)
        raise ScaleError("value", f"{scale.name} takes {allowed}; got {text!r}")
    if isinstance(raw, bool):
        raise ScaleError("value", f"must be a number, got {raw!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ScaleError("value", f"must be a number, got {text!r}") from None
    if not value.is_finite() or not scale.low <= value <= scale.high:
        raise ScaleError("value", f"{scale.name} runs from {scale.low} to {scale.high}; "
                                  f"got {text}")
    if scale.whole and value != value.to_integral_value():
        raise ScaleError("value", f"{scale.name} takes whole numbers; got {text}")
    return value, text
