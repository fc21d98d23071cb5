"""Request bodies: validated at the boundary, shared by the API and the web pages.

Every model forbids unknown fields, so a misspelt field is an error naming it rather than a
value silently dropped.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from bontrack.config import date_limits


def _printable(allowed: str) -> object:
    """Refuse control characters (NUL breaks PostgreSQL text, others hide text) and lone
    surrogates (not encodable as UTF-8); ``allowed`` keeps line breaks in long text."""

    def check(value: str) -> str:
        for ch in value:
            kind = unicodedata.category(ch)
            if (kind == "Cc" and ch not in allowed) or kind == "Cs":
                raise ValueError(f"contains a control character (U+{ord(ch):04X})")
        return value

    return AfterValidator(check)


#: Joiners some scripts need inside words (Persian, Indic): the only format characters a
#: name may hold. Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) would
#: make a name read differently from what is stored; zero-width spaces hide in identifiers.
JOINERS = {"\u200c", "\u200d"}


def _no_format(allowed: set[str]) -> object:
    """Refuse invisible format characters (Unicode category Cf) except ``allowed``."""

    def check(value: str) -> str:
        for ch in value:
            if unicodedata.category(ch) == "Cf" and ch not in allowed:
                raise ValueError(f"contains an invisible formatting character "
                                 f"(U+{ord(ch):04X}, {unicodedata.name(ch, 'unnamed')})")
        return value

    return AfterValidator(check)


def _nfkc(value: str) -> str:
    """Compatibility forms folded (full-width ＭＲＮ１２３ is MRN123): one identifier, one
    spelling, so a look-alike cannot pass as a second patient."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000),
                 _printable("\n\r\t")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=200), _printable("")]
#: A person's name, kept as typed: no control or invisible formatting characters but the
#: joiners.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 _printable(""), _no_format(JOINERS)]
#: An identifier (MRN): compatibility forms folded, no control or formatting characters.
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=64),
                      BeforeValidator(_nfkc), _printable(""), _no_format(set())]
Units = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=12, decimal_places=3)]

#: An id or version as the database holds it (INTEGER: 32 bits on PostgreSQL, whose smaller
#: range both databases share). A larger number cannot name a row: 422 naming the field, not
#: a database error (issue 15: 2^31 and 2^63 answered 500).
ID_MIN, ID_MAX = -(2**31), 2**31 - 1
DbInt = Annotated[int, Field(ge=ID_MIN, le=ID_MAX)]


def holds_id(value: int) -> bool:
    """Whether ``value`` can be an id in the database: a use case asked for one past that
    answers "not found" instead of sending the database a number it refuses."""
    return ID_MIN <= value <= ID_MAX

# -- dates and times: written as ISO 8601 and within a plausible range ------------------------
# (bontrack.config.DateLimits, configurable; docs/api.md "Dates and times"). Without these a
# number was read as seconds since 1970 (``birth_date: 0`` became 1970-01-01) and year 9999
# was stored, after which every read of the patient failed on PostgreSQL.

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _written_as_iso(value: Any) -> Any:
    """A date is ``YYYY-MM-DD`` (a time ``YYYY-MM-DDThh:mm[:ss][offset]``): a number, or text
    of digits only, is not read as seconds since 1970."""
    if isinstance(value, bool | int | float | Decimal):
        raise ValueError("a number is not a date: write YYYY-MM-DD (a time "
                         "YYYY-MM-DDThh:mm:ss+hh:mm)")
    if isinstance(value, str) and not _ISO_DAY.match(value.strip()):
        raise ValueError("expected a date as YYYY-MM-DD (a time as YYYY-MM-DDThh:mm:ss+hh:mm)")
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def _latest_event_day() -> date:
    return (_now() + timedelta(hours=date_limits().event_ahead_hours)).date()


def _between(value: date, low: date, high: date, why: str) -> date:
    if not low <= value <= high:
        raise ValueError(f"{value.isoformat()} is not plausible: expected a date from "
                         f"{low.isoformat()} to {high.isoformat()} ({why})")
    return value


def _event_day(value: date) -> date:
    return _between(value, date_limits().earliest, _latest_event_day(),
                    "it has happened, so it is not in the future")


def _plan_day(value: date) -> date:
    limits = date_limits()
    return _between(value, limits.earliest,
                    _now().date() + timedelta(days=limits.plan_ahead_days),
                    f"at most {limits.plan_ahead_days} days ahead")


def _birth_day(value: date) -> date:
    limits = date_limits()
    today = _now().date()
    try:
        oldest = today.replace(year=today.year - limits.max_age_years)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - limits.max_age_years, day=28)
    return _between(value, max(oldest, limits.earliest), _latest_event_day(),
                    f"not in the future, at most {limits.max_age_years} years ago")


def _event_time(value: datetime) -> datetime:
    """A time that has happened: after the earliest date, not after now (plus the allowance
    for time zones and clocks). A time without an offset is taken as UTC."""
    limits = date_limits()
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    latest = _now() + timedelta(hours=limits.event_ahead_hours)
    try:
        utc = aware.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        utc = None
    if utc is None or not limits.earliest <= utc.date() or utc > latest:
        raise ValueError(f"{value.isoformat()} is not plausible: expected a time from "
                         f"{limits.earliest.isoformat()} to {latest.isoformat(timespec='minutes')}"
                         " (it has happened, so it is not in the future)")
    return value


#: A day something happened (onset, diary, weight): in the past, or today in any time zone.
EventDay = Annotated[date, BeforeValidator(_written_as_iso), AfterValidator(_event_day)]
#: A time something happened (a measurement, a reconstitution).
EventTime = Annotated[datetime, BeforeValidator(_written_as_iso), AfterValidator(_event_time)]
#: A day that may be planned ahead (a cycle, a goal's target, a vial's expiry).
PlanDay = Annotated[date, BeforeValidator(_written_as_iso), AfterValidator(_plan_day)]
#: A birth date: not in the future, not older than the oldest plausible age.
BirthDay = Annotated[date, BeforeValidator(_written_as_iso), AfterValidator(_birth_day)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


#: A name part in a change: as ``Name``, or empty to remove the part (``family_name: ""``).
NameOrEmpty = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200),
                        _printable(""), _no_format(JOINERS)]
#: At most this many given names (FHIR ``name.given``: first and middle names, in order).
MAX_GIVEN = 10


def _display_from_parts(data: Any) -> Any:
    """A new patient written with name parts and no ``display_name``: the display name is
    the given names then the family name, separated by spaces ("Alex Jo Synthetic"). Only
    text parts are joined; anything else is left for the fields' own errors."""
    if not isinstance(data, dict) or (isinstance(data.get("display_name"), str)
                                      and data["display_name"].strip()):
        return data
    given = data.get("given_names")
    family = data.get("family_name")
    words = [g.strip() for g in given if isinstance(g, str)] if isinstance(given, list) else []
    if isinstance(family, str):
        words.append(family.strip())
    built = " ".join(w for w in words if w)
    return {**data, "display_name": built} if built else data


class PatientIn(In):
    """A new patient. ``display_name`` is what lists and pages show; the optional name parts
    (``family_name``, ``given_names``) are what an EHR exchanges (FHIR ``name.family`` /
    ``name.given``). Without ``display_name``, it is built from the parts (given names, then
    the family name)."""

    mrn: Identifier
    # the parts before the display name: a part's own error is the first one named (the
    # display name built from a bad part is refused too, after it)
    family_name: Name | None = None
    given_names: list[Name] = Field(default_factory=list, max_length=MAX_GIVEN)
    display_name: Name = Field(description=(
        "The name lists and pages show. May be left out when family_name or given_names "
        "is given: it is then the given names, then the family name, separated by spaces."))
    birth_date: BirthDay
    sex: Literal["female", "male", "other", "unknown"] = "unknown"
    weight_kg: Annotated[Decimal, Field(gt=0, le=400, decimal_places=2)] | None = None
    flags: list[ShortText] = Field(default_factory=list, max_length=20)
    medications: list[ShortText] = Field(default_factory=list, max_length=50)

    _display = model_validator(mode="before")(_display_from_parts)


class PatientPatch(In):
    """A change of a patient: fields left out (or null) stay as they are. A name part is
    removed with an empty value (``family_name: ""``, ``given_names: []``); changing the
    parts does not change ``display_name`` (send it too)."""

    version: DbInt | None = None
    display_name: Name | None = None
    family_name: NameOrEmpty | None = None
    given_names: list[Name] | None = Field(default=None, max_length=MAX_GIVEN)
    birth_date: BirthDay | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None
    flags: list[ShortText] | None = Field(default=None, max_length=20)
    medications: list[ShortText] | None = Field(default=None, max_length=50)


class WeightIn(In):
    measured_on: EventDay
    weight_kg: Annotated[Decimal, Field(gt=0, le=400, decimal_places=2)]


class ConditionIn(In):
    indication: ShortText
    icd10cm: Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
                       ] | None = None
    affected_side: Literal["left", "right", "bilateral", "midline"] | None = None
    onset_date: EventDay | None = None
    note: Text = ""


class ConditionPatch(In):
    """What may change on a condition (set fields only); the indication stays."""

    icd10cm: Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
                       ] | None = None
    affected_side: Literal["left", "right", "bilateral", "midline"] | None = None
    onset_date: EventDay | None = None
    note: Text = ""
    entered_in_error: bool = False


class InjectionIn(In):
    muscle: ShortText
    side: Literal["left", "right", "midline"]
    units: Units
    sites: Annotated[int, Field(ge=1, le=100)] = 1
    guidance: Literal["anatomic", "emg", "estim", "ultrasound"] | None = None


class VialIn(In):
    size_units: Units
    diluent_ml: Annotated[Decimal, Field(ge=0, le=100, decimal_places=3)] | None = None
    lot: ShortText | None = None
    expiry: PlanDay | None = None
    reconstituted_at: EventTime | None = None


class OverrideIn(In):
    code: ShortText
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10,
                                             max_length=2000), _printable("\n\r\t")]


class CycleIn(In):
    date: PlanDay
    product: ShortText
    indication: ShortText
    clinician_id: DbInt | None = None
    weight_kg: Annotated[Decimal, Field(gt=0, le=400, decimal_places=2)] | None = None
    injections: list[InjectionIn] = Field(min_length=1, max_length=200)
    vials: list[VialIn] = Field(default_factory=list, max_length=50)
    overrides: list[OverrideIn] = Field(default_factory=list, max_length=50)
    consent_recorded: bool = False
    consent_text: Text = ""
    note: Text = ""


class AmendIn(CycleIn):
    version: DbInt
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5,
                                             max_length=2000), _printable("\n\r\t")]


class SignIn(In):
    version: DbInt | None = None


class EnteredInErrorIn(In):
    version: DbInt | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5,
                                             max_length=2000), _printable("\n\r\t")]


class OutcomeIn(In):
    scale: ShortText
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
                     _printable("")]
    measured_at: EventTime
    cycle_id: DbInt | None = None
    muscle: ShortText | None = None
    region: ShortText | None = None
    side: Literal["left", "right", "midline", "bilateral"] | None = None


class GoalIn(In):
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                                  max_length=2000), _printable("\n\r\t")]
    weight: Annotated[int, Field(ge=1, le=10)] = 1
    target_date: PlanDay | None = None


class GoalScoreIn(In):
    """A goal's level: ``attainment`` (-2..+2), or ``answer``, a quick plain answer
    (reference/data/gas_quick.yaml) that the use case turns into its level; one of the two,
    and when both are sent they must agree."""

    version: DbInt | None = None
    attainment: Annotated[int, Field(ge=-2, le=2)] | None = None
    answer: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None


class SideEffectIn(In):
    term: ShortText
    onset: EventDay
    severity: Literal["mild", "moderate", "severe"]
    serious: bool = False
    outcome: Literal["recovering", "recovered", "not_recovered", "fatal", "unknown"] = "unknown"
    relatedness: Literal["related", "possibly_related", "unlikely_related", "not_related",
                         "unknown"] = "unknown"
    cycle_id: DbInt | None = None


class DiaryIn(In):
    entry_date: EventDay
    spasm_frequency: Annotated[int, Field(ge=0, le=4)] | None = None
    spasm_intensity: Annotated[int, Field(ge=0, le=3)] | None = None
    pain: Annotated[int, Field(ge=0, le=10)] | None = None
    side_effects: Text = ""
    note: Text = ""


class TriageIn(In):
    """What a patient or caregiver wrote, in their own words (one report)."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=20_000), _printable("\n\r\t")]


class TokenIn(In):
    # a password is exactly what was typed: spaces at either end are part of it
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    username: Annotated[str, StringConstraints(min_length=1, max_length=80), _printable("")]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1000), _printable("")]
    #: The second step of an account enrolled in two-step sign-in: the 6-digit code of the
    #: authenticator app, or one of the recovery codes shown at enrolment.
    totp: Annotated[str, StringConstraints(min_length=1, max_length=12),
                    _printable("")] | None = None
    recovery_code: Annotated[str, StringConstraints(min_length=1, max_length=40),
                             _printable("")] | None = None


class PasswordChangeIn(In):
    """A user changes their own password: the current one proves who they are (no bearer
    token is needed, so a password set by an administrator can be replaced before the first
    session)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    username: Annotated[str, StringConstraints(min_length=1, max_length=80), _printable("")]
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1000),
                                _printable("")]
    new_password: Annotated[str, StringConstraints(min_length=1, max_length=1000),
                            _printable("")]
    #: The second step of an account enrolled in two-step sign-in: the 6-digit code of the
    #: authenticator app, or one of the recovery codes shown at enrolment.
    totp: Annotated[str, StringConstraints(min_length=1, max_length=12),
                    _printable("")] | None = None
    recovery_code: Annotated[str, StringConstraints(min_length=1, max_length=40),
                             _printable("")] | None = None


class AdminPasswordIn(In):
    """An administrator resets a user's password (the user changes it at the next sign-in)
    and, with ``reset_second_factor``, removes their second factor (a lost phone)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    password: Annotated[str, StringConstraints(min_length=1, max_length=1000), _printable("")]
    reset_second_factor: bool = False


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=2000),
                   _printable("\n\r\t")]


class VisitIn(In):
    """Book the next visit: a day (today or later, within the planning horizon) and a
    clinician of the clinic. ``override_reason`` is needed for a day before the earliest
    safe date (a clinician's decision, kept with the booking)."""

    visit_date: PlanDay
    clinician_id: DbInt
    note: Text = ""
    override_reason: Reason | None = None


class VisitChangeIn(In):
    """Reschedule a booked visit: the new day and/or clinician and why (the booking it
    replaces is kept)."""

    version: DbInt | None = None
    visit_date: PlanDay | None = None
    clinician_id: DbInt | None = None
    note: Text | None = None
    override_reason: Reason | None = None
    reason: Reason


class VisitCancelIn(In):
    version: DbInt | None = None
    reason: Reason


class GoalStatementIn(In):
    """A goal's statement, edited (the earlier words are kept in the audit trail)."""

    version: DbInt | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                                  max_length=2000), _printable("\n\r\t")]


class ClinicVialIn(In):
    """Open a vial in the clinic's vial log (issue 17 item 9): product, size, lot and
    expiry as printed on the vial, and when (and with how much diluent) it was
    reconstituted. The lot and expiry are needed: they are what a recall searches."""

    product: ShortText
    size_units: Units
    diluent_ml: Annotated[Decimal, Field(ge=0, le=100, decimal_places=3)] | None = None
    lot: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                   _printable("")]
    expiry: PlanDay
    reconstituted_at: EventTime
    note: Text = ""


class VialDrawIn(In):
    """Units drawn from a clinic vial into one patient's cycle. ``drawn_at`` defaults to
    now; ``override_reason`` is a clinician's reason to draw despite a stop (the vial is
    past its expiry or the label's hours after reconstitution)."""

    cycle_id: DbInt
    units: Units
    drawn_at: EventTime | None = None
    override_reason: Reason | None = None


class VialCloseIn(In):
    """Close a vial: the units left are discarded (the JW modifier's amount; none is JZ)."""

    version: DbInt | None = None
    note: Text = ""
