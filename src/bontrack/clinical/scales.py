"""Outcome scales: the values each scale allows, read from what a clinician types.

The scales themselves (values, names, responder rules, FHIR coding, each with its source)
are reference data: ``reference/data/scales.yaml``, loaded into ``Reference.scales``. This
module only applies them; callers pass the scales in (no file access here).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from bontrack.errors import ScaleError as ScaleError  # re-exported for its users
from bontrack.reference.schema import OutcomeScale

Scales = Mapping[str, OutcomeScale]


def read_value(scales: Scales, scale_id: str, raw: object) -> tuple[Decimal, str]:
    """(numeric value for ordering and charts, the value as the scale writes it)."""
    scale = scales.get(scale_id)
    if scale is None:
        raise ScaleError("scale", f"unknown scale {scale_id!r}; known: {', '.join(scales)}")
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
    step = scale.step
    if step is not None and (value - scale.low) % step != 0:
        if step == 1:
            raise ScaleError("value", f"{scale.name} takes whole numbers; got {text}")
        raise ScaleError("value", f"{scale.name} takes steps of {step} from {scale.low}; "
                                  f"got {text}")
    return value, text
