"""A treatment plan as values, and the strict reader that builds one from a document.

The reader takes an already-decoded mapping (YAML or JSON is the caller's business) and the
reference data, and either returns a ``Plan`` whose every name is a known id, or raises
``PlanError`` naming the field, the value and what would be right. It never guesses: an
unknown muscle is an error with the closest known names, not the closest muscle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from bontrack.errors import PlanError, UnknownNameError
from bontrack.reference.catalogue import Reference

SIDES = ("left", "right", "midline")
GUIDANCE = ("anatomic", "emg", "estim", "ultrasound")
MAX_AMOUNT = Decimal(10_000_000)
#: The reader's first look-ups for the common case: a value as most plans type it, with what
#: the full reading gives it. Anything else is read the full way, to the same value or error.
_MAX_WHOLE_AMOUNT = int(MAX_AMOUNT)
_SIDES_AS_TYPED = {v: s for s in SIDES for v in (s, s.capitalize(), s.upper())}
_GUIDANCE_AS_TYPED = {v: g for g in GUIDANCE for v in (g, g.capitalize(), g.upper())}


@dataclass(frozen=True, slots=True)
class Patient:
    birth_date: date | None
    age_years: int | None
    weight_kg: Decimal | None
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()

    def age_on(self, day: date) -> int:
        """Completed years on ``day``."""
        if self.birth_date is not None:
            years = day.year - self.birth_date.year
            if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
                years -= 1
            return years
        assert self.age_years is not None
        return self.age_years


@dataclass(frozen=True, slots=True)
class Vial:
    size_units: Decimal
    diluent_ml: Decimal | None
    reconstituted_at: datetime | None
    lot: str | None
    expiry: date | None


@dataclass(frozen=True, slots=True)
class Injection:
    muscle: str
    side: str
    units: Decimal
    sites: int
    guidance: str | None = None


@dataclass(frozen=True, slots=True)
class PastTreatment:
    date: date
    product: str
    indication: str
    total_units: Decimal


@dataclass(frozen=True, slots=True)
class Plan:
    date: date
    patient: Patient
    product: str
    indication: str
    injections: tuple[Injection, ...]
    vials: tuple[Vial, ...] = ()
    history: tuple[PastTreatment, ...] = ()
    time: time | None = field(default=None)

    def total_units(self) -> Decimal:
        return sum((i.units for i in self.injections), Decimal(0))


# -- reading -----------------------------------------------------------------------------


_Resolvers = dict[str, Callable[[str], "str | None"]]
_ReaderTables = tuple[_Resolvers, dict[str, dict[str, str]], dict[str, bool]]


def _reader_tables(ref: Reference, of: Reference) -> _ReaderTables:
    """The reader's look-ups, built once per reference (not for every plan): the resolvers
    and the exact spellings by kind of name (plain dicts: a read proxy's ``get`` costs twice
    a dict's, and a plan asks it once a name), and which muscles are paired."""
    resolvers: _Resolvers = {
        "product": ref.product_id,
        "indication": ref.indication_id,
        "muscle": ref.muscle_id,
        "condition": ref.condition_id,
    }
    empty: Mapping[str, str] = {}
    exact = {kind: dict(ref.exact_names.get(kind, empty)) for kind in resolvers}
    return resolvers, exact, {m: muscle.paired for m, muscle in ref.muscles.items()}


class _Reader:
    def __init__(self, where: str, ref: Reference) -> None:
        self.where = where
        self.ref = ref
        self.resolvers, self.exact, self.paired = ref.derived("reader", ref, _reader_tables)
        #: For the common case (``_common_injection``): muscle ids as typed.
        self.muscle_ids = self.exact["muscle"]

    def fail(self, path: str, reason: str) -> PlanError:
        return PlanError(self.where, path, reason)

    def fields(self, value: Any, path: str, allowed: Sequence[str], keys: frozenset[str]
               ) -> Mapping[str, Any]:
        """``mapping`` and ``known`` in one: a plain dict of known fields at once."""
        if type(value) is dict and value.keys() <= keys:
            return value
        m = self.mapping(value, path)
        self.known(m, path, allowed)
        return m

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping of fields, got {_kind(value)}")
        for key in value:
            if type(key) is not str:
                raise self.fail(path, f"field names must be text, got {key!r}")
        return value

    def known(self, m: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
        for key in m:
            if key not in allowed:
                raise self.fail(
                    _join(path, key), f"unknown field; expected one of: {', '.join(allowed)}"
                )

    def require(self, m: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in m or m[key] is None:
            raise self.fail(_join(path, key), "is required")
        return m[key]

    def day(self, value: Any, path: str) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
            try:
                return datetime.fromisoformat(value.strip()).date()
            except ValueError:
                pass
        raise self.fail(path, f"must be a date as YYYY-MM-DD, got {value!r}")

    def moment(self, value: Any, path: str) -> datetime:
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        if isinstance(value, date):
            return datetime.combine(value, time(0, 0))
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.strip()).replace(tzinfo=None)
            except ValueError:
                pass
        raise self.fail(path, f"must be a date and time as YYYY-MM-DDTHH:MM, got {value!r}")

    def number(self, value: Any, path: str, *, positive: bool = True) -> Decimal:
        if type(value) is int and 0 < value <= MAX_AMOUNT:
            return Decimal(value)
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise self.fail(path, f"must be a number, got {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(path, f"must be a finite number, got {value!r}")
        try:
            d = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise self.fail(path, f"must be a number, got {value!r}") from None
        if not d.is_finite():
            raise self.fail(path, f"must be a finite number, got {value!r}")
        if positive and d <= 0:
            raise self.fail(path, f"must be greater than 0, got {value!r}")
        if d < 0:
            raise self.fail(path, f"must not be negative, got {value!r}")
        if d > MAX_AMOUNT:
            raise self.fail(path, f"{value!r} is not a plausible amount")
        return d

    def whole(self, value: Any, path: str, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self.fail(path, f"must be a whole number, got {value!r}")
        if value < minimum:
            raise self.fail(path, f"must be at least {minimum}, got {value}")
        if value > 10_000:
            raise self.fail(path, f"{value} is not a plausible count")
        return int(value)

    def text(self, value: Any, path: str) -> str:
        if type(value) is str and 0 < len(value) <= 200 and not value[0].isspace():
            return value.rstrip() or self.text(value.strip(), path)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, f"must be text, got {_kind(value)}")
        s = str(value).strip()
        if not s:
            raise self.fail(path, "must not be empty")
        if len(s) > 200:
            raise self.fail(path, "is longer than 200 characters")
        return s

    def listing(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list, got {_kind(value)}")
        return value

    def name(self, value: Any, path: str, kind: str) -> str:
        if type(value) is str:
            found = self.exact[kind].get(value)
            if found is not None:
                return found
        text = self.text(value, path)
        found = self.resolvers[kind](text)
        if found is None:
            raise UnknownNameError(self.where, path, text, kind, self.ref.suggest(kind, text))
        return found


PLAN_FIELDS = ("date", "patient", "product", "indication", "vials", "injections", "history")
PATIENT_FIELDS = ("birth_date", "age_years", "weight_kg", "conditions", "medications")
VIAL_FIELDS = ("size_units", "diluent_ml", "reconstituted_at", "lot", "expiry")
INJECTION_FIELDS = ("muscle", "side", "units", "sites", "guidance")
HISTORY_FIELDS = ("date", "product", "indication", "total_units")
_PLAN_KEYS = frozenset(PLAN_FIELDS)
_PATIENT_KEYS = frozenset(PATIENT_FIELDS)
_INJECTION_KEYS = frozenset(INJECTION_FIELDS)
_VIAL_KEYS = frozenset(VIAL_FIELDS)
_HISTORY_KEYS = frozenset(HISTORY_FIELDS)


def read_plan(data: Any, ref: Reference, where: str = "plan", on: date | None = None) -> Plan:
    """Build a ``Plan`` from a decoded document, or raise ``PlanError`` naming the field.

    ``on`` checks the plan for another day than its own ``date`` (the CLI's ``--at``).
    """
    r = _Reader(where, ref)
    if type(data) is dict and data.keys() <= _PLAN_KEYS:  # the common case at once
        doc: Mapping[str, Any] = data
    else:
        doc = r.mapping(data, "(top level)")
        r.known(doc, "", PLAN_FIELDS)
    raw_date = r.require(doc, "date", "")
    plan_date = r.day(raw_date, "date")
    if on is not None:
        plan_date, raw_date = on, on
    plan_time = raw_date.time() if isinstance(raw_date, datetime) else None
    if isinstance(raw_date, str) and "T" in raw_date:
        plan_time = r.moment(raw_date, "date").time()
    patient = _read_patient(r, r.require(doc, "patient", ""), plan_date)
    product = r.name(r.require(doc, "product", ""), "product", "product")
    indication = r.name(r.require(doc, "indication", ""), "indication", "indication")
    vials = tuple([
        _common_vial(v) or _read_vial(r, v, f"vials.{i}")
        for i, v in enumerate(r.listing(doc.get("vials"), "vials"))
    ])
    for i, v in enumerate(vials):
        if v.reconstituted_at is not None and v.reconstituted_at.date() > plan_date:
            raise r.fail(
                f"vials.{i}.reconstituted_at",
                f"{v.reconstituted_at:%Y-%m-%d %H:%M} is after the injection day {plan_date}",
            )
    raw_injections = r.listing(r.require(doc, "injections", ""), "injections")
    if not raw_injections:
        raise r.fail("injections", "must list at least one injection")
    injections = tuple([
        _common_injection(r, v) or _read_injection(r, v, f"injections.{i}")
        for i, v in enumerate(raw_injections)
    ])
    history = tuple([
        _common_history(r, h) or _read_history(r, h, f"history.{i}")
        for i, h in enumerate(r.listing(doc.get("history"), "history"))
    ])
    return Plan(
        date=plan_date,
        time=plan_time,
        patient=patient,
        product=product,
        indication=indication,
        injections=injections,
        vials=vials,
        history=history,
    )


def _read_patient(r: _Reader, value: Any, plan_date: date) -> Patient:
    m = r.fields(value, "patient", PATIENT_FIELDS, _PATIENT_KEYS)
    birth = r.day(m["birth_date"], "patient.birth_date") if m.get("birth_date") else None
    age = r.whole(m["age_years"], "patient.age_years", minimum=0) if "age_years" in m else None
    if birth is None and age is None:
        raise r.fail("patient.birth_date", "is required (or give patient.age_years)")
    if age is not None and age > 130:
        raise r.fail("patient.age_years", f"{age} is not a plausible age")
    if birth is not None:
        if birth > plan_date:
            raise r.fail("patient.birth_date", f"{birth} is after the plan date {plan_date}")
        if plan_date.year - birth.year > 130:
            raise r.fail("patient.birth_date", f"{birth} is not a plausible birth date")
    weight = (
        r.number(m["weight_kg"], "patient.weight_kg") if m.get("weight_kg") is not None else None
    )
    if weight is not None and weight > 400:
        raise r.fail("patient.weight_kg", f"{weight} kg is not a plausible weight")
    patient = Patient(
        birth_date=birth,
        age_years=age,
        weight_kg=weight,
        conditions=tuple(
            r.name(c, f"patient.conditions.{i}", "condition")
            for i, c in enumerate(r.listing(m.get("conditions"), "patient.conditions"))
        ),
        medications=tuple(
            r.text(c, f"patient.medications.{i}").lower()
            for i, c in enumerate(r.listing(m.get("medications"), "patient.medications"))
        ),
    )
    if birth is not None and age is not None and patient.age_on(plan_date) != age:
        raise r.fail(
            "patient.age_years",
            f"{age} disagrees with birth_date {birth} (age {patient.age_on(plan_date)} on "
            f"{plan_date}); give one of them",
        )
    if patient.age_on(plan_date) < 18 and weight is None:
        raise r.fail(
            "patient.weight_kg",
            "is required for patients under 18: paediatric limits are per kilogram",
        )
    return patient


# -- the common case at once ----------------------------------------------------------------
# A vial, injection or history entry typed as most plans type it (ids, whole amounts, ISO
# dates, plain text) is read by one of these; anything else (another spelling, a float, a
# field missing, a mistake) gives None and is read the full way below, to the same value
# or to the error naming its field. Only the full way writes the fields' paths.


def _common_vial(value: Any) -> Vial | None:
    if type(value) is not dict or not value.keys() <= _VIAL_KEYS:
        return None
    size = _whole_amount(value.get("size_units"))
    raw = value.get("diluent_ml")
    diluent = None if raw is None else _whole_amount(raw)
    raw_at = value.get("reconstituted_at")
    at = None if raw_at is None else _iso_moment(raw_at)
    raw_lot = value.get("lot")
    lot = None if raw_lot is None else _plain_text(raw_lot)
    raw_expiry = value.get("expiry")
    expiry = None if raw_expiry is None else _iso_day(raw_expiry)
    if (size is None or (diluent is None and raw is not None)
            or (at is None and raw_at is not None) or (lot is None and raw_lot is not None)
            or (expiry is None and raw_expiry is not None)):
        return None
    return Vial(size, diluent, at, lot, expiry)


def _common_injection(r: _Reader, value: Any) -> Injection | None:
    if type(value) is not dict or not value.keys() <= _INJECTION_KEYS:
        return None
    raw = value.get("muscle")
    muscle = r.muscle_ids.get(raw) if type(raw) is str else None
    raw = value.get("side")
    side = _SIDES_AS_TYPED.get(raw) if type(raw) is str else None
    raw = value.get("guidance")
    guidance = _GUIDANCE_AS_TYPED.get(raw) if type(raw) is str else None
    units = value.get("units")
    sites = value.get("sites", 1)
    if (muscle is None or side is None or (guidance is None and raw is not None)
            or type(units) is not int or not 0 < units <= _MAX_WHOLE_AMOUNT
            or type(sites) is not int or not 1 <= sites <= 10_000
            or (side == "midline") == r.paired[muscle]):
        return None
    return Injection(muscle, side, Decimal(units), sites, guidance)


def _common_history(r: _Reader, value: Any) -> PastTreatment | None:
    if type(value) is not dict or not value.keys() <= _HISTORY_KEYS:
        return None
    day = _iso_day(value.get("date"))
    raw = value.get("product")
    product = r.exact["product"].get(raw) if type(raw) is str else None
    raw = value.get("indication")
    indication = r.exact["indication"].get(raw) if type(raw) is str else None
    units = _whole_amount(value.get("total_units"))
    if day is None or product is None or indication is None or units is None:
        return None
    return PastTreatment(day, product, indication, units)


def _whole_amount(raw: Any) -> Decimal | None:
    """A whole amount as ``_Reader.number`` reads it at once, else None."""
    if type(raw) is int and 0 < raw <= _MAX_WHOLE_AMOUNT:
        return Decimal(raw)
    return None


def _iso_day(raw: Any) -> date | None:
    """A day typed YYYY-MM-DD as ``_Reader.day`` reads it, else None (ten characters that
    are an ISO date hold no space: the reader's ``strip`` changes nothing)."""
    if type(raw) is str and len(raw) == 10:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    return None


def _iso_moment(raw: Any) -> datetime | None:
    """An ISO date and time with no space at either end as ``_Reader.moment`` reads it
    (its ``strip`` changes nothing), else None."""
    if type(raw) is str and raw and not raw[0].isspace() and not raw[-1].isspace():
        try:
            return datetime.fromisoformat(raw).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def _plain_text(raw: Any) -> str | None:
    """Text of 1-200 characters with no space at either end, as ``_Reader.text`` returns
    it, else None."""
    if type(raw) is str and 0 < len(raw) <= 200 and not raw[0].isspace() and not raw[-1].isspace():
        return raw
    return None


# -- the full way ------------------------------------------------------------------------


def _read_vial(r: _Reader, value: Any, path: str) -> Vial:
    m = r.fields(value, path, VIAL_FIELDS, _VIAL_KEYS)
    return Vial(
        size_units=r.number(r.require(m, "size_units", path), f"{path}.size_units"),
        diluent_ml=(
            r.number(m["diluent_ml"], f"{path}.diluent_ml")
            if m.get("diluent_ml") is not None
            else None
        ),
        reconstituted_at=(
            r.moment(m["reconstituted_at"], f"{path}.reconstituted_at")
            if m.get("reconstituted_at") is not None
            else None
        ),
        lot=r.text(m["lot"], f"{path}.lot") if m.get("lot") is not None else None,
        expiry=r.day(m["expiry"], f"{path}.expiry") if m.get("expiry") is not None else None,
    )


def _read_injection(r: _Reader, value: Any, path: str) -> Injection:
    # Each field: the common case at once, anything else the full way (same value or error).
    m = r.fields(value, path, INJECTION_FIELDS, _INJECTION_KEYS)
    raw = m.get("muscle")
    muscle = r.exact["muscle"].get(raw) if type(raw) is str else None
    if muscle is None:
        muscle = r.name(r.require(m, "muscle", path), f"{path}.muscle", "muscle")
    raw = m.get("side")
    side = _SIDES_AS_TYPED.get(raw) if type(raw) is str else None
    if side is None:
        side = r.text(r.require(m, "side", path), f"{path}.side").lower()
        if side not in SIDES:
            raise r.fail(f"{path}.side", f"must be one of {', '.join(SIDES)}, got {side!r}")
    paired = r.ref.muscles[muscle].paired
    if paired and side == "midline":
        raise r.fail(f"{path}.side", f"{muscle} is a paired muscle: give left or right")
    if not paired and side != "midline":
        raise r.fail(f"{path}.side", f"{muscle} is a midline muscle: give midline")
    raw = m.get("guidance")
    guidance = _GUIDANCE_AS_TYPED.get(raw) if type(raw) is str else None
    if guidance is None and raw is not None:
        guidance = r.text(raw, f"{path}.guidance").lower()
        if guidance not in GUIDANCE:
            raise r.fail(
                f"{path}.guidance", f"must be one of {', '.join(GUIDANCE)}, got {guidance!r}"
            )
    raw = m.get("units")
    if type(raw) is int and 0 < raw <= _MAX_WHOLE_AMOUNT:
        units = Decimal(raw)
    else:
        units = r.number(r.require(m, "units", path), f"{path}.units")
    raw = m.get("sites", 1)
    if type(raw) is int and 1 <= raw <= 10_000:
        sites = raw
    else:
        sites = r.whole(raw, f"{path}.sites", minimum=1)
    return Injection(muscle, side, units, sites, guidance)


def _read_history(r: _Reader, value: Any, path: str) -> PastTreatment:
    m = r.fields(value, path, HISTORY_FIELDS, _HISTORY_KEYS)
    return PastTreatment(
        date=r.day(r.require(m, "date", path), f"{path}.date"),
        product=r.name(r.require(m, "product", path), f"{path}.product", "product"),
        indication=r.name(r.require(m, "indication", path), f"{path}.indication", "indication"),
        total_units=r.number(r.require(m, "total_units", path), f"{path}.total_units"),
    )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"text {value!r}"
    return f"{value!r}"
