"""Request bodies: validated at the boundary, shared by the API and the web pages.

Every model forbids unknown fields, so a misspelt field is an error naming it rather than a
value silently dropped.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


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


Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000),
                 _printable("\n\r\t")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=200), _printable("")]
Units = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=12, decimal_places=3)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatientIn(In):
    mrn: ShortText
    display_name: ShortText
    birth_date: date
    sex: Literal["female", "male", "other", "unknown"] = "unknown"
    weight_kg: Annotated[Decimal, Field(gt=0, le=400, decimal_places=2)] | None = None
    flags: list[ShortText] = Field(default_factory=list, max_length=20)
    medications: list[ShortText] = Field(default_factory=list, max_length=50)


class PatientPatch(In):
    version: int | None = None
    display_name: ShortText | None = None
    birth_date: date | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None
    flags: list[ShortText] | None = Field(default=None, max_length=20)
    medications: list[ShortText] | None = Field(default=None, max_length=50)


class WeightIn(In):
    measured_on: date
    weight_kg: Annotated[Decimal, Field(gt=0, le=400, decimal_places=2)]


class ConditionIn(In):
    indication: ShortText
    icd10cm: Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
                       ] | None = None
    affected_side: Literal["left", "right", "bilateral", "midline"] | None = None
    onset_date: date | None = None
    note: Text = ""


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
    expiry: date | None = None
    reconstituted_at: datetime | None = None


class OverrideIn(In):
    code: ShortText
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10,
                                             max_length=2000), _printable("\n\r\t")]


class CycleIn(In):
    date: date
    product: ShortText
    indication: ShortText
    clinician_id: int | None = None
    weight_kg: Annotated[Decimal, Field(gt=0, le=400, decimal_places=2)] | None = None
    injections: list[InjectionIn] = Field(min_length=1, max_length=200)
    vials: list[VialIn] = Field(default_factory=list, max_length=50)
    overrides: list[OverrideIn] = Field(default_factory=list, max_length=50)
    consent_recorded: bool = False
    consent_text: Text = ""
    note: Text = ""


class AmendIn(CycleIn):
    version: int
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5,
                                             max_length=2000), _printable("\n\r\t")]


class SignIn(In):
    version: int | None = None


class EnteredInErrorIn(In):
    version: int | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5,
                                             max_length=2000), _printable("\n\r\t")]


class OutcomeIn(In):
    scale: ShortText
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
                     _printable("")]
    measured_at: datetime
    cycle_id: int | None = None
    muscle: ShortText | None = None
    region: ShortText | None = None
    side: Literal["left", "right", "midline", "bilateral"] | None = None


class GoalIn(In):
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                                  max_length=2000), _printable("\n\r\t")]
    weight: Annotated[int, Field(ge=1, le=10)] = 1
    target_date: date | None = None


class GoalScoreIn(In):
    version: int | None = None
    attainment: Annotated[int, Field(ge=-2, le=2)]


class SideEffectIn(In):
    term: ShortText
    onset: date
    severity: Literal["mild", "moderate", "severe"]
    serious: bool = False
    outcome: Literal["recovering", "recovered", "not_recovered", "fatal", "unknown"] = "unknown"
    relatedness: Literal["related", "possibly_related", "unlikely_related", "not_related",
                         "unknown"] = "unknown"
    cycle_id: int | None = None


class DiaryIn(In):
    entry_date: date
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
