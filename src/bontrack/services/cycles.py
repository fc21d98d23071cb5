"""Treatment cycles: record (with the plan check run on what is recorded, history taken from
the store), sign and lock, amend with history, mark entered in error.

The one place that decides what a stop finding means: a cycle with stop findings is saved
only when each stop code has an override with a clinician's written reason, given by a
clinician. Everything happens in the caller's transaction: a refused cycle leaves nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.findings import Finding, Severity
from bontrack.clinical.plan import read_plan
from bontrack.clinical.result import finding_dict, number
from bontrack.errors import (
    AccessDenied,
    Conflict,
    InvalidRecord,
    NotFound,
    PlanError,
    StopNotOverridden,
)
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import Actor, can_read_patient, can_write_clinical
from bontrack.services.given import GIVEN, refuse_future, today, was_given
from bontrack.services.records import check_version, get_patient, weight_on
from bontrack.services.schemas import AmendIn, CycleIn, EnteredInErrorIn, SignIn, holds_id
from bontrack.services.usecase import use_case
from bontrack.services.views import cycle_view
from bontrack.store.models import (
    Condition,
    Cycle,
    CycleFinding,
    CycleRevision,
    Injection,
    Override,
    Patient,
    User,
    Vial,
)


def history_of(session: Session, patient_id: int, exclude: int | None = None
               ) -> list[dict[str, Any]]:
    """Earlier treatments of the patient from the store (never from the request): only the
    cycles given (signed, or imported as given). Drafts are plans, not treatments; they are
    named by ``UNSIGNED_CYCLE_NOT_COUNTED`` instead (``record_findings``)."""
    stmt = select(Cycle.id, Cycle.date, Cycle.product, Cycle.indication, Cycle.total_units).where(
        Cycle.patient_id == patient_id, Cycle.status == GIVEN
    )
    return [
        {"date": d, "product": p, "indication": i, "total_units": t}
        for cid, d, p, i, t in session.execute(stmt)
        if cid != exclude
    ]


def record_findings(session: Session, patient: Patient, result: CheckResult,
                    exclude: int | None, as_of: date) -> CheckResult:
    """The findings only the record knows, added to the plan check's own:

    - INDICATION_NOT_AMONG_CONDITIONS (warning): the plan's indication is not among the
      patient's active conditions (CONDITIONS_NOT_RECORDED, info, where none is recorded:
      the comparison could not be made, and the result says so);
    - UNSIGNED_CYCLE_NOT_COUNTED (warning): an unsigned draft of this patient dated on or
      before the plan's day is not counted as given; if it was given, it should be signed;
    - CYCLE_DATED_IN_FUTURE (info): the plan is dated after today; it is saved as a plan
      and can be signed as given from that day.
    """
    plan = result.plan
    extra: list[Finding] = []
    record = "the patient's record"
    conditions = sorted(set(session.scalars(select(Condition.indication).where(
        Condition.patient_id == patient.id, Condition.status == "active"))))
    if not conditions:
        extra.append(Finding(
            "CONDITIONS_NOT_RECORDED",
            "No condition is recorded for this patient: whether the indication "
            f"({plan.indication.replace('_', ' ')}) is one of the patient's conditions was "
            "not checked.", source=record))
    elif plan.indication not in conditions:
        extra.append(Finding(
            "INDICATION_NOT_AMONG_CONDITIONS",
            f"The indication {plan.indication.replace('_', ' ')} is not among the patient's "
            f"recorded conditions ({', '.join(c.replace('_', ' ') for c in conditions)}): "
            "check the indication, or record the condition first.", source=record))
    drafts = session.execute(select(Cycle.id, Cycle.date).where(
        Cycle.patient_id == patient.id, Cycle.status == "draft", Cycle.date <= plan.date)
        .order_by(Cycle.date, Cycle.id)).all()
    drafts = [d for d in drafts if d.id != exclude]
    if drafts:
        days = ", ".join(f"{d.date.isoformat()} (cycle {d.id})" for d in drafts)
        extra.append(Finding(
            "UNSIGNED_CYCLE_NOT_COUNTED",
            f"Unsigned draft cycle{'s' if len(drafts) > 1 else ''} {days} "
            f"{'are' if len(drafts) > 1 else 'is'} not counted as given in the cumulative "
            "dose or the interval. If the injections were given, a clinician should sign "
            "the draft first.", source=record))
    if plan.date > as_of:
        extra.append(Finding(
            "CYCLE_DATED_IN_FUTURE",
            f"Dated {plan.date.isoformat()}, after today ({as_of.isoformat()}): this is a "
            "plan. It is saved as a draft and can be signed as given from that day.",
            source=record))
    if not extra:
        return result
    findings = sorted((*result.findings, *extra), key=lambda f: -f.severity)
    return replace(result, findings=tuple(findings))


def plan_document(patient: Patient, body: CycleIn, weight: Decimal | None,
                  history: list[dict[str, Any]]) -> dict[str, Any]:
    """The contract's plan document for what is being recorded."""
    return {
        "date": body.date,
        "patient": {
            "birth_date": patient.birth_date,
            **({"weight_kg": weight} if weight is not None else {}),
            "conditions": list(patient.flags or []),
            "medications": list(patient.medications or []),
        },
        "product": body.product,
        "indication": body.indication,
        "vials": [
            {k: v for k, v in vial.model_dump().items() if v is not None} for vial in body.vials
        ],
        "injections": [
            {k: v for k, v in inj.model_dump().items() if v is not None}
            for inj in body.injections
        ],
        "history": history,
    }


def run_check(session: Session, patient: Patient, body: CycleIn, ref: Reference,
              exclude: int | None = None) -> tuple[CheckResult, Decimal | None]:
    # The check reads the patient's history: hold the patient's row until commit so that
    # two cycles checked at once cannot both pass a limit together (PostgreSQL; SQLite has
    # one writer at a time anyway).
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    weight = body.weight_kg or weight_on(session, patient.id, body.date)
    doc = plan_document(patient, body, weight, history_of(session, patient.id, exclude))
    try:
        plan = read_plan(doc, ref, where="cycle")
    except PlanError as err:
        field = {"patient.weight_kg": "weight_kg"}.get(err.field, err.field)
        raise InvalidRecord(err.reason, field=field) from None
    result = record_findings(session, patient, check_plan(plan, ref), exclude, today())
    return result, weight


def _enforce_stops(actor: Actor, result: CheckResult, body: CycleIn) -> None:
    stops = sorted({f.code for f in result.findings if f.severity == Severity.STOP})
    if not stops:
        return
    given = {o.code for o in body.overrides}
    missing = [c for c in stops if c not in given]
    if missing:
        raise_stop(result, missing)
    if actor.role != "clinician":
        raise AccessDenied("only a clinician may override stop findings", entity="override")


def raise_stop(result: CheckResult, missing: list[str]) -> None:
    raise StopNotOverridden(
        "the plan check found stop findings without a clinician's override: "
        + ", ".join(missing),
        [finding_dict(f) for f in result.findings if f.code in missing],
    )


def _clinician(session: Session, actor: Actor, clinician_id: int | None) -> int:
    if clinician_id is None:
        if actor.role != "clinician":
            raise InvalidRecord("name the clinician who gives the injections",
                                field="clinician_id")
        return actor.user_id
    user = session.get(User, clinician_id)
    if user is None or user.clinic_id != actor.clinic_id or user.role != "clinician":
        raise InvalidRecord(f"user {clinician_id} is not a clinician of this clinic",
                            field="clinician_id")
    return user.id


def _fill(session: Session, cycle: Cycle, actor: Actor, body: CycleIn, result: CheckResult,
          weight: Decimal | None) -> None:
    """Write the cycle's children from the body and the check result."""
    plan = result.plan
    cycle.date = body.date
    cycle.product = plan.product
    cycle.indication = plan.indication
    cycle.weight_kg = weight
    cycle.total_units = plan.total_units()
    cycle.consent_recorded = body.consent_recorded
    cycle.consent_text = body.consent_text
    cycle.note = body.note
    cycle.verdict = result.verdict
    cycle.reference_version = result.reference_version
    cycle.next_earliest_date = result.effect.next_earliest_date
    cycle.injections, cycle.vials, cycle.findings = children(result, actor.user_id)
    stops = {f.code for f in result.findings if f.severity == Severity.STOP}
    now = audit.now()
    for o in body.overrides:
        if o.code in stops:
            session.add(Override(cycle_id=cycle.id, code=o.code, clinician_id=actor.user_id,
                                 reason=o.reason, created_at=now))


def child_rows(result: CheckResult, recorded_by: int,
               guidance: Callable[[], str | None] | None = None
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of a checked cycle, as column values without ``cycle_id``: injections with
    their volume, vials with the units discarded (all on the last opened vial; unopened vials
    none), and the findings as they were at checking time."""
    plan, prep = result.plan, result.preparation
    injections = [
        {"muscle": i.muscle, "side": i.side, "units": i.units, "sites": i.sites,
         "volume_ml": ip.ml_total, "guidance": guidance() if guidance else i.guidance}
        for i, ip in zip(plan.injections, prep.per_injection, strict=True)
    ]
    opened = prep.vials_needed or 0
    vials = []
    for n, v in enumerate(plan.vials):
        discarded = None
        if n < opened:
            discarded = prep.units_discarded if n == opened - 1 else Decimal(0)
        vials.append({"size_units": v.size_units, "diluent_ml": v.diluent_ml, "lot": v.lot,
                      "expiry": v.expiry, "reconstituted_at": v.reconstituted_at,
                      "units_discarded": discarded, "recorded_by": recorded_by})
    findings = [
        {"code": f.code, "severity": f.severity.label, "message": f.message, "value": f.value,
         "limit": f.limit, "unit": f.unit, "muscle": f.muscle, "side": f.side,
         "source": f.source}
        for f in result.findings
    ]
    return injections, vials, findings


@use_case()
def may_plan(session: Session, actor: Actor, patient_id: int) -> None:
    """Refuse (404/403) an actor who may not plan cycles for this patient."""
    can_write_clinical(actor, get_patient(session, actor, patient_id, audit_read=False),
                       "plan cycles")


def children(result: CheckResult, recorded_by: int,
             guidance: Callable[[], str | None] | None = None
             ) -> tuple[list[Injection], list[Vial], list[CycleFinding]]:
    """``child_rows`` as ORM objects, to hang on a ``Cycle``."""
    injections, vials, findings = child_rows(result, recorded_by, guidance)
    return ([Injection(**r) for r in injections], [Vial(**r) for r in vials],
            [CycleFinding(**r) for r in findings])


@use_case()
def check_only(session: Session, actor: Actor, patient_id: int, body: CycleIn,
               ref: Reference, exclude: int | None = None) -> CheckResult:
    """The plan check of a cycle being planned, with the stored history; nothing is saved
    (the live check of the planning screen). ``exclude``: the cycle being amended, which
    is not its own history."""
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "plan cycles")
    result, _ = run_check(session, patient, body, ref, exclude=exclude)
    audit.record(session, actor, "read", "plan_check", patient_id=patient.id)
    return result


@use_case()
def record_cycle(session: Session, actor: Actor, patient_id: int, body: CycleIn,
                 ref: Reference) -> Cycle:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "record cycles")
    result, weight = run_check(session, patient, body, ref)
    _enforce_stops(actor, result, body)
    now = audit.now()
    cycle = Cycle(patient_id=patient.id, clinic_id=patient.clinic_id, date=body.date,
                  product=result.plan.product, indication=result.plan.indication,
                  clinician_id=_clinician(session, actor, body.clinician_id),
                  total_units=Decimal(0), status="draft", verdict=result.verdict,
                  reference_version=result.reference_version, version=1,
                  created_by=actor.user_id, created_at=now, updated_at=now)
    session.add(cycle)
    session.flush()
    _fill(session, cycle, actor, body, result, weight)
    session.flush()
    audit.record(session, actor, "create", "cycle", cycle.id, patient.id,
                 detail=f"verdict={result.verdict} total={number(cycle.total_units)}")
    return cycle


@use_case()
def get_cycle(session: Session, actor: Actor, cycle_id: int, *, audit_read: bool = True
              ) -> Cycle:
    cycle = session.get(Cycle, cycle_id) if holds_id(cycle_id) else None
    if cycle is None:
        raise NotFound(f"cycle {cycle_id} not found")
    patient = session.get(Patient, cycle.patient_id)
    assert patient is not None
    can_read_patient(actor, patient, f"cycle {cycle_id}")
    if actor.role == "patient" and not was_given(cycle):
        # a plan is staff's working record, not something the patient was given
        raise NotFound(f"cycle {cycle_id} not found")
    if audit_read:
        audit.record(session, actor, "read", "cycle", cycle.id, cycle.patient_id)
    return cycle


def snapshot(cycle: Cycle) -> dict[str, Any]:
    """The cycle as it was, for the revision history."""
    return cycle_view(cycle)


@use_case()
def update_draft(session: Session, actor: Actor, cycle_id: int, body: AmendIn,
                 if_match: int | None, ref: Reference) -> Cycle:
    """Change a draft (unsigned) cycle; the earlier state is kept as a revision."""
    cycle = get_cycle(session, actor, cycle_id, audit_read=False)
    if cycle.status != "draft":
        raise Conflict(f"cycle {cycle_id} is {cycle.status}: a signed cycle is changed by an "
                       "amendment", field="status")
    return _change(session, actor, cycle, body, if_match, ref, "update")


@use_case()
def amend_cycle(session: Session, actor: Actor, cycle_id: int, body: AmendIn,
                if_match: int | None, ref: Reference, as_of: date | None = None) -> Cycle:
    """Amend a signed cycle: the signed version is kept, who changed what is recorded."""
    cycle = get_cycle(session, actor, cycle_id, audit_read=False)
    if actor.role != "clinician":
        raise AccessDenied("only a clinician may amend a signed cycle", entity="cycle",
                           entity_id=cycle.id, patient_id=cycle.patient_id)
    if cycle.status != "signed":
        raise Conflict(f"cycle {cycle_id} is {cycle.status}; only a signed cycle is amended",
                       field="status")
    refuse_future(body.date, as_of or today(), "recorded as given (amended to that date)")
    return _change(session, actor, cycle, body, if_match, ref, "amend")


def _change(session: Session, actor: Actor, cycle: Cycle, body: AmendIn, if_match: int | None,
            ref: Reference, action: str) -> Cycle:
    patient = session.get(Patient, cycle.patient_id)
    assert patient is not None
    can_write_clinical(actor, patient, f"{action} cycles")
    check_version(cycle.version, if_match if if_match is not None else body.version,
                  f"cycle {cycle.id}")
    result, weight = run_check(session, patient, body, ref, exclude=cycle.id)
    _enforce_stops(actor, result, body)
    session.add(CycleRevision(cycle_id=cycle.id, version=cycle.version,
                              snapshot=snapshot(cycle), changed_by=actor.user_id,
                              changed_at=audit.now(), reason=body.reason))
    _fill(session, cycle, actor, body, result, weight)
    cycle.version += 1
    cycle.updated_at = audit.now()
    session.flush()
    audit.record(session, actor, action, "cycle", cycle.id, cycle.patient_id,
                 detail=f"version {cycle.version - 1} -> {cycle.version}: {body.reason}")
    return cycle


@use_case()
def sign_cycle(session: Session, actor: Actor, cycle_id: int, body: SignIn,
               if_match: int | None, as_of: date | None = None) -> Cycle:
    """Sign a draft: the injections were given. A cycle dated after today (``as_of``,
    default the server's date) is a plan and is refused (422 naming the date)."""
    cycle = get_cycle(session, actor, cycle_id, audit_read=False)
    if actor.role != "clinician":
        raise AccessDenied("only a clinician may sign a cycle", entity="cycle",
                           entity_id=cycle.id, patient_id=cycle.patient_id)
    if cycle.status != "draft":
        raise Conflict(f"cycle {cycle_id} is already {cycle.status}", field="status")
    check_version(cycle.version, if_match if if_match is not None else body.version,
                  f"cycle {cycle.id}")
    refuse_future(cycle.date, as_of or today())
    _refuse_unoverridden_stops(cycle)
    cycle.status = GIVEN
    cycle.signed_by = actor.user_id
    cycle.signed_at = audit.now()
    cycle.version += 1
    cycle.updated_at = cycle.signed_at
    audit.record(session, actor, "sign", "cycle", cycle.id, cycle.patient_id)
    return cycle


def _refuse_unoverridden_stops(cycle: Cycle) -> None:
    """A draft whose stored check has stop findings without a local clinician's override
    (an imported plan: overrides made elsewhere are text, never local overrides) is not
    signed as given until a clinician amends it with the overrides and their reasons."""
    overridden = {o.code for o in cycle.overrides}
    missing = sorted({f.code for f in cycle.findings
                      if f.severity == Severity.STOP.label and f.code not in overridden})
    if missing:
        raise StopNotOverridden(
            "this draft has stop findings without a clinician's override here: "
            + ", ".join(missing) + "; amend it with an override and its reason, then sign",
            [{"code": f.code, "severity": f.severity, "message": f.message}
             for f in cycle.findings if f.code in missing])


@use_case()
def enter_in_error(session: Session, actor: Actor, cycle_id: int, body: EnteredInErrorIn,
                   if_match: int | None) -> Cycle:
    """Nothing clinical is deleted: a wrong cycle is marked entered in error, with a reason,
    and drops out of history and totals."""
    cycle = get_cycle(session, actor, cycle_id, audit_read=False)
    if actor.role != "clinician":
        raise AccessDenied("only a clinician may mark a cycle entered in error",
                           entity="cycle", entity_id=cycle.id, patient_id=cycle.patient_id)
    if cycle.status == "entered_in_error":
        raise Conflict(f"cycle {cycle_id} is already entered in error", field="status")
    check_version(cycle.version, if_match if if_match is not None else body.version,
                  f"cycle {cycle.id}")
    session.add(CycleRevision(cycle_id=cycle.id, version=cycle.version,
                              snapshot=snapshot(cycle), changed_by=actor.user_id,
                              changed_at=audit.now(), reason=body.reason))
    cycle.status = "entered_in_error"
    cycle.version += 1
    cycle.updated_at = audit.now()
    audit.record(session, actor, "entered_in_error", "cycle", cycle.id, cycle.patient_id,
                 detail=body.reason)
    return cycle


@use_case()
def list_cycles(session: Session, actor: Actor, patient_id: int, limit: int, offset: int
                ) -> tuple[list[Cycle], int]:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    stmt = select(Cycle).where(Cycle.patient_id == patient.id)
    if actor.role == "patient":  # the patient's own list holds what was given, not plans
        stmt = stmt.where(or_(Cycle.status == GIVEN, Cycle.signed_at.is_not(None)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(Cycle.date, Cycle.id).limit(limit).offset(offset)))
    audit.record(session, actor, "read", "cycle", patient_id=patient.id, detail=f"n={len(rows)}")
    return rows, total
