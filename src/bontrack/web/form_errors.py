"""Form errors in a clinician's words: a validation error's location (``injections.0.units``)
becomes the row and field on the screen ("Injection 1 (biceps brachii, left), units"), and
pydantic's message becomes what to type ("enter a number of units, such as 50 or 12.5").
The API keeps the machine form; only the web pages say it this way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from bontrack.errors_render import form_line

#: form field -> the words on the screen
FIELDS = {
    "units": "units", "sites": "sites", "muscle": "muscle", "side": "side",
    "guidance": "guidance", "size_units": "size (U)", "diluent_ml": "diluent (mL)",
    "lot": "lot", "expiry": "expiry", "reconstituted_at": "reconstituted at",
    "date": "date", "product": "product", "indication": "indication",
    "weight_kg": "weight (kg)", "reason": "reason", "code": "finding",
    "consent_text": "consent note", "note": "note", "value": "value",
    "measured_at": "measured at", "mrn": "MRN", "display_name": "name",
    "birth_date": "date of birth", "sex": "sex", "measured_on": "date",
    "icd10cm": "ICD-10-CM code", "affected_side": "affected side",
    "onset_date": "onset date", "clinician_id": "clinician", "version": "version",
    "description": "description", "attainment": "attainment", "weight": "weight",
    "term": "what happened", "onset": "onset", "severity": "severity",
    "entry_date": "date", "pain": "pain", "spasm_frequency": "spasm frequency",
    "spasm_intensity": "spasm intensity", "medications": "medicines",
    "family_name": "family name", "given_names": "given names",
}
#: list field -> what one row of it is called
ROWS = {"injections": "Injection", "vials": "Vial", "overrides": "Override",
        "outcomes": "Row", "medications": "Medicine, line", "flags": "Flag, line",
        "given_names": "Given name"}


def _what(err: Mapping[str, Any], field: str) -> str:
    """What is wrong, as an instruction."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    number = field in ("units", "sites", "size (U)", "diluent (mL)", "weight (kg)")
    if kind in ("missing", "decimal_type", "int_type", "none_required") or (
            kind == "string_too_short" and ctx.get("min_length") == 1):
        return ("enter a number, such as 50 or 12.5" if number else "fill this in")
    if kind in ("decimal_parsing", "int_parsing", "float_parsing", "int_from_float"):
        return ("enter a whole number" if kind != "decimal_parsing"
                else "enter a number, such as 50 or 12.5")
    if kind in ("greater_than", "greater_than_equal"):
        word = "more than" if kind == "greater_than" else "at least"
        return f"must be {word} {ctx.get('gt', ctx.get('ge'))}"
    if kind in ("less_than", "less_than_equal"):
        word = "less than" if kind == "less_than" else "at most"
        return f"must be {word} {ctx.get('lt', ctx.get('le'))}"
    if kind == "decimal_max_places":
        return f"use at most {ctx.get('decimal_places')} decimal places"
    if kind == "string_too_short":
        return f"write at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"write at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return ("write a code such as I69.331 (a capital letter, two characters, then an "
                "optional dot and up to four)" if field == "ICD-10-CM code"
                else "is not in the expected form")
    if kind == "literal_error":
        return f"choose one of {ctx.get('expected', 'the listed values')}"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return "enter a date"
    if kind in ("datetime_from_date_parsing", "datetime_parsing", "datetime_type"):
        return "enter a date and time"
    msg = str(err.get("msg", "is not valid"))
    msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


def error_fields(exc: BaseException) -> set[str]:
    """The form fields an error is about (the first element of each error's location, or
    the field a refusal names), so a page can mark those inputs invalid."""
    if isinstance(exc, ValidationError):
        return {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
    field = getattr(exc, "field", None)
    return {str(field)} if field else set()


def plain_error(exc: BaseException,
                row_name: Callable[[str, int], str] | None = None) -> str:
    """One line naming the row and field on the screen and what to do. ``row_name(list,
    index)`` may add what the row holds (the muscle and side of an injection)."""
    if not isinstance(exc, ValidationError):
        return form_line(exc)
    first = exc.errors()[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    where: list[str] = []
    field = ""
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, str) and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            index = int(loc[i + 1])
            label = f"{ROWS.get(part, part.capitalize())} {index + 1}"
            extra = row_name(part, index) if row_name else ""
            where.append(f"{label} ({extra})" if extra else label)
            i += 2
            continue
        field = FIELDS.get(str(part), str(part).replace("_", " "))
        where.append(field)
        i += 1
    what = _what(first, field)
    head = ", ".join(where) if where else "The form"
    return f"{head[:1].upper()}{head[1:]}: {what}."
