"""Reading elements of incoming FHIR resources: extensions, dates, numbers and quantities,
each failure a ``Refusal`` that names the element path (the importer turns it into one line
of its problem report)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bontrack.fhir.codes import EXT

#: UCUM codes another system may write a botulinum toxin dose in, all read as units of the
#: dose's own product (never converted to another product's units): [arb'U] (what bontrack
#: writes), [iU] (international unit), {Unit} (an annotation), U (UCUM's enzyme unit, the
#: spelling many EHRs use for "Units"). docs/fhir.md, "Import".
UNIT_CODES = ("[arb'U]", "[iU]", "{Unit}", "U")
#: the unit text accepted where a quantity has no code
UNIT_TEXTS = ("U", "Units", "Unit", "units", "unit", "IU")


class Refusal(Exception):
    """One unmappable element: carries the path; the reader turns it into a Problem."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class Skip(Refusal):
    """A resource to set aside, not a reason to refuse the input: the importer lists it with
    the reason and goes on (a dose given elsewhere of a product that cannot be identified,
    an order, a dose not completed)."""


def ext_all(res: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in res.get("extension") or [] if e.get("url") == EXT[name]]


def ext_value(res: dict[str, Any], name: str, key: str) -> Any:
    found = ext_all(res, name)
    return found[0].get(key) if found else None


def parts(ext: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in ext.get("extension") or []:
        value = next((v for k, v in p.items() if k.startswith("value")), None)
        out[p.get("url", "")] = value
    return out


def as_day(value: Any, path: str) -> date:
    if not isinstance(value, str) or len(value) < 10:
        raise Refusal(path, f"needs a full date (YYYY-MM-DD), got {value!r}")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise Refusal(path, f"{value!r} is not a date") from None


def as_instant(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise Refusal(path, f"needs a date and time, got {value!r}")
    if len(value) == 10:
        return datetime.combine(as_day(value, path), datetime.min.time(), tzinfo=UTC)
    try:
        out = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refusal(path, f"{value!r} is not a date and time") from None
    return out if out.tzinfo else out.replace(tzinfo=UTC)


def as_decimal(value: Any, path: str) -> Decimal:
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise Refusal(path, f"must be a number, got {value!r}") from None
    if not out.is_finite():
        raise Refusal(path, f"must be a finite number, got {value!r}")
    return out


def as_units(q: Any, path: str) -> Decimal:
    """A quantity in units of its product: UCUM [arb'U] (what bontrack writes), [iU],
    {Unit} or U; without a code, the unit text "U" or "Units". Held as given, in the
    product's own units: units of different products are never converted."""
    if not isinstance(q, dict) or q.get("value") is None:
        raise Refusal(path, "needs a value in product units")
    code = q.get("code")
    if code not in UNIT_CODES and not (code is None and q.get("unit") in UNIT_TEXTS):
        raise Refusal(f"{path}.code", f"units must be product units (UCUM [arb'U], [iU], "
                      f"{{Unit}} or U), got {code or q.get('unit')!r}; units of different "
                      "products are never converted")
    return as_decimal(q["value"], f"{path}.value")


def as_ml(q: Any, path: str) -> Decimal:
    if not isinstance(q, dict) or q.get("code") != "mL":
        raise Refusal(path, "must be a volume in mL")
    return as_decimal(q.get("value"), f"{path}.value")


def shown(cc: Any) -> str:
    if not isinstance(cc, dict):
        return repr(cc)
    parts = [f"{c.get('system', '')}|{c.get('code', '')}" for c in cc.get("coding") or []]
    if cc.get("text"):
        parts.append(repr(cc["text"]))
    return ", ".join(parts) or "an empty concept"
