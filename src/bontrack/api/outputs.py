"""The shapes the API answers with, published in the OpenAPI schema.

They document what `services/views.py` builds; they are not used to filter answers. The
schema fuzz test (tests/api/test_fuzz_schema.py) checks every answer against them, so a view
that drifts from its published shape fails a test instead of surprising an integrator.
Unknown fields are forbidden for the same reason.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model

Number = int | float


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemOut(BaseModel):
    """RFC 9457 problem details; ``field`` names the offending input where there is one."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    field: str | None = None


class WeightOut(Out):
    id: int
    measured_on: str | None
    weight_kg: Number | None


class PatientOut(Out):
    id: int
    mrn: str
    display_name: str
    family_name: str | None
    given_names: list[str]
    birth_date: str | None
    sex: str
    flags: list[str]
    medications: list[str]
    status: str
    version: int
    weights: list[WeightOut]


class ConditionOut(Out):
    id: int
    patient_id: int
    indication: str
    icd10cm: str | None
    affected_side: str | None
    onset_date: str | None
    note: str
    status: str


class InjectionOut(Out):
    muscle: str
    side: str
    units: Number | None
    sites: int
    volume_ml: Number | None
    guidance: str | None


class VialOut(Out):
    size_units: Number | None
    diluent_ml: Number | None
    lot: str | None
    expiry: str | None
    reconstituted_at: str | None
    units_discarded: Number | None


class FindingOut(Out):
    code: str
    severity: str
    message: str
    value: Number | None
    limit: Number | None
    unit: str | None
    muscle: str | None
    side: str | None
    source: str | None


class OverrideOut(Out):
    code: str
    clinician_id: int
    reason: str
    at: str | None


class RevisionOut(Out):
    version: int
    changed_by: int
    changed_at: str | None
    reason: str
    snapshot: dict[str, Any]


class CycleOut(Out):
    id: int
    patient_id: int
    date: str | None
    product: str
    indication: str
    clinician_id: int
    weight_kg: Number | None
    total_units: Number | None
    consent_recorded: bool
    consent_text: str
    note: str
    status: str
    verdict: str
    reference_version: str
    next_earliest_date: str | None
    signed_by: int | None
    signed_at: str | None
    version: int
    #: for an imported cycle: who signed, overrode and judged it elsewhere, as text (never
    #: a local signature or override); empty for a cycle recorded here
    provenance: str
    injections: list[InjectionOut]
    vials: list[VialOut]
    findings: list[FindingOut]
    overrides: list[OverrideOut]


class CycleWithRevisionsOut(CycleOut):
    revisions: list[RevisionOut]


class EnteredInErrorOut(Out):
    """Why, by whom (a user id) and when a record was marked entered in error."""

    reason: str | None
    by: int | None
    at: str | None


class OutcomeOut(Out):
    id: int
    patient_id: int
    cycle_id: int | None
    scale: str
    value: Number | None
    value_text: str
    muscle: str | None
    region: str | None
    side: str | None
    measured_at: str | None
    status: str
    version: int
    entered_in_error: EnteredInErrorOut | None


class GoalOut(Out):
    id: int
    patient_id: int
    description: str
    weight: int
    target_date: str | None
    attainment: int | None
    status: str
    version: int
    entered_in_error: EnteredInErrorOut | None


class TriageFlagOut(Out):
    id: str
    matched: str
    source: str
    reason: Literal["negated", "vague"] | None = None


class TriageOut(Out):
    """The triage contract's result (docs/triage.md): ``urgent``, ``flags``, ``advice``,
    ``unclear``; ``level``, ``possible``, ``unread`` and ``reference_version`` extend it."""

    urgent: bool
    flags: list[TriageFlagOut]
    advice: str
    unclear: bool
    level: Literal["urgent", "unclear", "not_urgent"]
    possible: list[TriageFlagOut]
    #: The words not read when the text could not be (another language, no words: "").
    unread: list[str] = []
    reference_version: str | None


class ClinicReportOut(Out):
    """One line of the clinic's list: a side effect or a diary entry, with its triage."""

    kind: Literal["side_effect", "diary", "cycle_diary"]
    id: int
    patient_id: int
    patient_name: str
    mrn: str
    reported_at: str
    words: str
    severity: str | None
    serious: bool
    level: Literal["urgent", "unclear", "not_urgent"]
    red_flags: list[str]
    possible: list[str]


class ClinicReportsOut(Out):
    items: list[ClinicReportOut]


class SideEffectOut(Out):
    id: int
    patient_id: int
    cycle_id: int | None
    term: str
    onset: str | None
    severity: str
    serious: bool
    outcome: str
    relatedness: str
    red_flags: list[str]
    urgent: bool
    triage: TriageOut
    reported_at: str | None
    status: str
    version: int
    entered_in_error: EnteredInErrorOut | None


class DiaryOut(Out):
    id: int
    patient_id: int
    entry_date: str | None
    spasm_frequency: int | None
    spasm_intensity: int | None
    pain: int | None
    side_effects: str
    note: str
    red_flags: list[str]
    urgent: bool
    triage: TriageOut
    status: str
    version: int
    entered_in_error: EnteredInErrorOut | None


class TokenOut(Out):
    access_token: str
    token_type: Literal["bearer"]
    role: str
    user_id: int
    patient_id: int | None


class HealthOut(Out):
    status: str
    version: str


class ReadyOut(Out):
    status: str
    version: str
    database: str
    revision: str


class TimelineOut(Out):
    """Events are cycles, outcomes and side effects, each with ``kind`` and ``date``."""

    patient: PatientOut
    next_earliest_date: str | None
    last_given_date: str | None = None
    last_given: dict[str, Any] | None = None
    events: list[dict[str, Any]]


def page_of(item: type[Out]) -> type[Out]:
    """A page of a list: the items, the total and where the next page starts."""
    name = f"{item.__name__.removesuffix('Out')}Page"
    fields: dict[str, Any] = {"items": (list[item], ...), "total": (int, ...),  # type: ignore[valid-type]
                              "limit": (int, ...), "offset": (int, ...),
                              "next_offset": (int | None, ...)}

    return create_model(name, __base__=Out, **fields)


#: Patient search (issue 16): keyset paging and a bounded count beside the usual page fields.
PatientSearchPage = create_model(
    "PatientSearchPage", __base__=page_of(PatientOut),
    total_exact=(bool, ...),  # false: at least ``total`` patients match (counted to 200)
    next_cursor=(str | None, ...))  # pass as ``cursor`` for the next page; null at the end


PROBLEM = {"model": ProblemOut, "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/ProblemOut"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {**PROBLEM, "description": text} for code, text in (
        (400, "Bad request"),
        (401, "Not signed in, or the token has expired or been revoked"),
        (403, "Signed in, but this role may not do this"),
        (404, "Not found (also answered for another clinic's records)"),
        (409, "Conflict with the record's state (e.g. a signed cycle, a stop not overridden)"),
        (412, "If-Match does not match the record's current version"),
        (413, "Request body too large"),
        (422, "Invalid input; the problem names the field"),
        (429, "Too many failed sign-ins from this address"),
        (503, "The database is busy; retry after the given seconds"),
    )
}


def answers(model: type[BaseModel], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: its success shape (documentation only)."""
    return {status: {"model": model}}
