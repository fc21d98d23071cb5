"""How numbers are shown to people (never how they are stored or computed).

- Units per injection site are shown to 0.1 U (50 U over 3 sites: "16.7", not "16.6667");
  the exact value stays in storage, in the check and in JSON.
- Modified Ashworth 1+ is shown as "1+", never as its ordering value 1.5 (Bohannon & Smith,
  Phys Ther 1987;67:206-7: the scale's grades are 0, 1, 1+, 2, 3, 4). The grades of every
  scale come from reference/data/scales.yaml; callers pass ``Reference.scales`` in.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bontrack.clinical.scales import Scales

_NO_SCALES: Scales = {}

TENTH = Decimal("0.1")


def _decimal(x: object) -> Decimal | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        d = Decimal(str(x))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def units_text(x: object) -> str:
    """An amount of units for display, to 0.1 U: 16.6667 -> '16.7', 100 -> '100',
    12.5 -> '12.5'. Anything that is not a number is shown as it is ('' for None)."""
    d = _decimal(x)
    if d is None:
        return "" if x is None else str(x)
    r = d.quantize(TENTH, rounding=ROUND_HALF_UP)
    if r == r.to_integral_value():
        return str(r.quantize(Decimal(1)))
    return format(r, "f")


def computed_units_text(x: Decimal) -> str:
    """An amount in a message: label numbers (at most two decimals, e.g. 1.25 U) as written;
    computed amounts (more decimals, e.g. units per site) to 0.1 U."""
    d = x.normalize()
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return units_text(d)
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d, "f")


def scale_text(scales: Scales, scale: str | None, value: object) -> str:
    """An outcome value as the scale writes it: Modified Ashworth 1.5 -> '1+'; other scales'
    numbers as numbers ('' for None)."""
    d = _decimal(value)
    if d is None:
        return "" if value is None else str(value)
    s = scales.get(scale or "")
    if s is not None:
        for label, v in s.labels:
            if v == d:
                return label
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def change_text(scales: Scales, scale: str | None, change: object, improvement: object
                ) -> str:
    """A change on a scale for display: on a scale of named grades (Modified Ashworth) the
    change in grades (steps: 3 to 1+ is 2 steps, not "1.5"); otherwise the number."""
    s = scales.get(scale or "")
    if s is not None and s.labels:
        d = _decimal(improvement)
        if d is None:
            return ""
        n = scale_text(_NO_SCALES, None, d)
        return f"{n} step{'' if abs(d) == 1 else 's'}"
    return scale_text(_NO_SCALES, None, change)
