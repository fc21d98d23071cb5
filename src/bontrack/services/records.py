"""Use cases of the patient record: patients, weights, conditions, outcomes, goals, side
effects and the diary. Each checks the role rules, writes, and appends its audit event in
the same transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bontrack.clinical.gas import quick_level
from bontrack.clinical.scales import ScaleError, read_value
from bontrack.errors import (
    AccessDenied,
    Conflict,
    InvalidRecord,
    NotFound,
    UnknownAnswer,
    VersionMismatch,
)
from bontrack.reference import Reference
from bontrack.reference.gas_quick import default_gas_quick
from bontrack.services import audit
from bontrack.services.access import (
    Actor,
    can_read_patient,
    can_write_clinical,
    require_role,
)
from bontrack.services.given import was_given

# patient search lives in its own module (trigram index, keyset pages); re-exported here
from bontrack.services.patient_search import PatientPage as PatientPage
from bontrack.services.patient_search import search_patients as search_patients
from bontrack.services.schemas import (
    ConditionIn,
    DiaryIn,
    GoalIn,
    GoalScoreIn,
    OutcomeIn,
    PatientIn,
    PatientPatch,
    SideEffectIn,
    WeightIn,
    holds_id,
)
from bontrack.services.triage import LEVEL_RANK, level_of, triage_texts
from bontrack.services.usecase import use_case
from bontrack.store.models import (
    Condition,
    Cycle,
    CycleDiary,
    DiaryEntry,
    Goal,
    Outcome,
    Patient,
    SideEffect,
    Weight,
)

MAX_PAGE = 200


def check_version(current: int, given: int | None, what: str) -> None:
    """Optimistic locking: the client must say which version it edits (If-Match or
    ``version``); a stale version is refused so no edit silently overwrites another."""
    if given is None:
        raise VersionMismatch(
            f"{what}: say which version you edit (If-Match header or 'version' field)",
            field="version",
        )
    if given != current:
        raise VersionMismatch(
            f"{what} was changed by someone else (now version {current}, you edited "
            f"version {given}); reload and apply your change again",
            field="version",
        )


def _resolve_flags(ref: Reference, flags: list[str]) -> list[str]:
    out = []
    for i, f in enumerate(flags):
        cid = ref.condition_id(f)
        if cid is None:
            hint = ref.suggest("condition", f)
            raise InvalidRecord(
                f"unknown condition flag {f!r}"
                + (f"; did you mean {', '.join(hint)}?" if hint else ""),
                field=f"flags.{i}",
            )
        out.append(cid)
    return out


# -- patients ----------------------------------------------------------------------------


@use_case()
def get_patient(session: Session, actor: Actor, patient_id: int, *, audit_read: bool = True,
                asked: str | None = None) -> Patient:
    """The patient, if the actor may read them; ``asked`` names the record the caller was
    asked for (a goal, an outcome), so that "not found" never reveals the patient's id."""
    asked = asked or f"patient {patient_id}"
    patient = session.get(Patient, patient_id) if holds_id(patient_id) else None
    if patient is None:
        raise NotFound(f"{asked} not found")
    can_read_patient(actor, patient, asked)
    if audit_read:
        audit.record(session, actor, "read", "patient", patient.id, patient.id)
    return patient


@use_case()
def create_patient(session: Session, actor: Actor, body: PatientIn, ref: Reference) -> Patient:
    require_role(actor, ("admin", "clinician", "nurse"), "create patients")
    now = audit.now()
    patient = Patient(
        clinic_id=actor.clinic_id,
        mrn=body.mrn,
        display_name=body.display_name,
        family_name=body.family_name,
        given_names=list(body.given_names),
        birth_date=body.birth_date,
        sex=body.sex,
        flags=_resolve_flags(ref, body.flags),
        medications=[m.lower() for m in body.medications],
        status="active",
        version=1,
        created_at=now,
        updated_at=now,
    )
    if body.birth_date > now.date():
        raise InvalidRecord("birth_date is in the future", field="birth_date")
    exists = session.scalar(
        select(Patient.id).where(Patient.clinic_id == actor.clinic_id, Patient.mrn == body.mrn)
    )
    if exists is not None:
        raise Conflict(f"MRN {body.mrn!r} is already used in this clinic", field="mrn")
    session.add(patient)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"MRN {body.mrn!r} is already used in this clinic", field="mrn") from None
    if body.weight_kg is not None:
        session.add(Weight(patient_id=patient.id, measured_on=now.date(),
                           weight_kg=body.weight_kg, recorded_by=actor.user_id, created_at=now))
    audit.record(session, actor, "create", "patient", patient.id, patient.id)
    session.flush()
    session.refresh(patient)  # the stored values, as an answer shows them
    return patient


@use_case()
def update_patient(session: Session, actor: Actor, patient_id: int, body: PatientPatch,
                   if_match: int | None, ref: Reference) -> Patient:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "change patient details")
    check_version(patient.version, if_match if if_match is not None else body.version,
                  f"patient {patient_id}")
    changed = []
    for field in ("display_name", "birth_date", "sex"):
        value = getattr(body, field)
        if value is not None and value != getattr(patient, field):
            setattr(patient, field, value)
            changed.append(field)
    # a name part sent empty is removed (NULL family, no given names)
    if body.family_name is not None and (body.family_name or None) != patient.family_name:
        patient.family_name = body.family_name or None
        changed.append("family_name")
    if body.given_names is not None and body.given_names != list(patient.given_names or []):
        patient.given_names = list(body.given_names)
        changed.append("given_names")
    if body.flags is not None:
        patient.flags = _resolve_flags(ref, body.flags)
        changed.append("flags")
    if body.medications is not None:
        patient.medications = [m.lower() for m in body.medications]
        changed.append("medications")
    patient.version += 1
    patient.updated_at = audit.now()
    audit.record(session, actor, "update", "patient", patient.id, patient.id,
                 detail="changed: " + ", ".join(changed))
    return patient


@use_case()
def add_weight(session: Session, actor: Actor, patient_id: int, body: WeightIn) -> Weight:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "record weights")
    w = Weight(patient_id=patient.id, measured_on=body.measured_on, weight_kg=body.weight_kg,
               recorded_by=actor.user_id, created_at=audit.now())
    session.add(w)
    session.flush()
    audit.record(session, actor, "create", "weight", w.id, patient.id)
    return w


def weight_on(session: Session, patient_id: int, day: date) -> Decimal | None:
    """The latest weight measured on or before ``day``."""
    return session.scalar(
        select(Weight.weight_kg)
        .where(Weight.patient_id == patient_id, Weight.measured_on <= day)
        .order_by(Weight.measured_on.desc(), Weight.id.desc())
        .limit(1)
    )


# -- conditions --------------------------------------------------------------------------


@use_case()
def add_condition(session: Session, actor: Actor, patient_id: int, body: ConditionIn,
                  ref: Reference) -> Condition:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "record conditions")
    ind = ref.indication_id(body.indication)
    if ind is None:
        hint = ref.suggest("indication", body.indication)
        raise InvalidRecord(f"unknown indication {body.indication!r}"
                            + (f"; did you mean {', '.join(hint)}?" if hint else ""),
                            field="indication")
    c = Condition(patient_id=patient.id, indication=ind, icd10cm=body.icd10cm,
                  affected_side=body.affected_side, onset_date=body.onset_date, note=body.note,
                  status="active", created_at=audit.now())
    session.add(c)
    session.flush()
    audit.record(session, actor, "create", "condition", c.id, patient.id)
    return c


#: The records listed per patient, by the entity name the audit trail uses.
LISTED: dict[str, type[Condition | Outcome | Goal | SideEffect | DiaryEntry]] = {
    "condition": Condition, "outcome": Outcome, "goal": Goal, "side_effect": SideEffect,
    "diary": DiaryEntry,
}


@use_case()
def list_for_patient(
    session: Session, actor: Actor, patient_id: int, entity: str, limit: int, offset: int,
) -> tuple[list[Any], int]:
    """One page of a patient's records of one kind (an entity name of ``LISTED``)."""
    model = LISTED[entity]
    patient = get_patient(session, actor, patient_id, audit_read=False)
    stmt = select(model).where(model.patient_id == patient.id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(model.id).limit(limit).offset(offset)))
    audit.record(session, actor, "read", entity, patient_id=patient.id, detail=f"n={len(rows)}")
    return rows, total


# -- outcomes, goals ---------------------------------------------------------------------


def _own_cycle(session: Session, patient: Patient, cycle_id: int | None,
               given_only: bool = False) -> None:
    """The cycle is this patient's; ``given_only`` (a patient's own report): and given, so
    a plan hidden from the patient is answered as no cycle at all, never told apart."""
    if cycle_id is None:
        return
    cycle = session.get(Cycle, cycle_id)
    if cycle is None or cycle.patient_id != patient.id or (given_only and not was_given(cycle)):
        raise InvalidRecord(f"cycle {cycle_id} is not a cycle of this patient",
                            field="cycle_id")


#: A side effect's fields that are the clinician's assessment, with the value a patient's
#: own report leaves them at: their defaults (the patient's form does not offer them).
_ASSESSMENT_DEFAULTS = {name: SideEffectIn.model_fields[name].default
                        for name in ("serious", "outcome", "relatedness")}


@use_case()
def add_outcome(session: Session, actor: Actor, patient_id: int, body: OutcomeIn,
                ref: Reference) -> Outcome:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "record outcomes")
    try:
        value, text = read_value(ref.scales, body.scale, body.value)
    except ScaleError as err:
        raise InvalidRecord(err.reason, field=err.field) from None
    muscle = None
    if body.muscle is not None:
        muscle = ref.muscle_id(body.muscle)
        if muscle is None:
            raise InvalidRecord(f"unknown muscle {body.muscle!r}", field="muscle")
    _own_cycle(session, patient, body.cycle_id)
    o = Outcome(patient_id=patient.id, cycle_id=body.cycle_id, scale=body.scale, value=value,
                value_text=text, muscle=muscle, region=body.region, side=body.side,
                measured_at=body.measured_at, recorded_by=actor.user_id, status="active", version=1,
                recorded_at=audit.now())
    session.add(o)
    session.flush()
    audit.record(session, actor, "create", "outcome", o.id, patient.id)
    return o


@use_case()
def add_goal(session: Session, actor: Actor, patient_id: int, body: GoalIn) -> Goal:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    can_write_clinical(actor, patient, "set goals")
    g = Goal(patient_id=patient.id, description=body.description, weight=body.weight,
             target_date=body.target_date, status="active", version=1,
             created_by=actor.user_id, created_at=audit.now())
    session.add(g)
    session.flush()
    audit.record(session, actor, "create", "goal", g.id, patient.id)
    return g


def goal_to_write(session: Session, actor: Actor, goal_id: int, doing: str
                  ) -> tuple[Goal, Patient]:
    """A goal and its patient, for a change the actor may make ("score goals", ...): another
    clinic's goal is not found, a patient's own is refused."""
    goal = session.get(Goal, goal_id) if holds_id(goal_id) else None
    if goal is None:
        raise NotFound(f"goal {goal_id} not found")
    patient = get_patient(session, actor, goal.patient_id, audit_read=False,
                          asked=f"goal {goal_id}")
    can_write_clinical(actor, patient, doing)
    return goal, patient


@use_case()
def score_goal(session: Session, actor: Actor, goal_id: int, body: GoalScoreIn,
               if_match: int | None) -> Goal:
    goal, patient = goal_to_write(session, actor, goal_id, "score goals")
    level = attainment_of(body)
    check_version(goal.version, if_match if if_match is not None else body.version,
                  f"goal {goal_id}")
    goal.attainment = level
    goal.version += 1
    goal.updated_at = audit.now()
    audit.record(session, actor, "update", "goal", goal.id, patient.id,
                 detail=f"attainment={level}"
                 + (f" (quick answer: {body.answer})" if body.answer is not None else ""))
    return goal


def attainment_of(body: GoalScoreIn) -> int:
    """The level a score asks for: its ``attainment``, or its quick ``answer`` turned into a
    level by the cited table (reference/data/gas_quick.yaml); refused naming the field when
    neither is given, the answer is not one of the table's, or the two disagree."""
    if body.answer is None:
        if body.attainment is None:
            raise InvalidRecord("give the level (-2 to +2) or a quick answer "
                                f"({', '.join(default_gas_quick().by_id())})",
                                field="attainment")
        return body.attainment
    try:
        level = quick_level(body.answer, default_gas_quick().by_id())
    except UnknownAnswer as e:
        raise InvalidRecord(f"{body.answer!r} is not a quick answer; the answers are "
                            f"{', '.join(e.choices)}", field="answer") from None
    if body.attainment is not None and body.attainment != level:
        raise InvalidRecord(f"the quick answer {body.answer!r} is level {level:+d}, "
                            f"not {body.attainment:+d}; send one of the two", field="answer")
    return level


# -- side effects and diary --------------------------------------------------------------


@use_case()
def add_side_effect(session: Session, actor: Actor, patient_id: int, body: SideEffectIn,
                    ref: Reference) -> SideEffect:
    patient = get_patient(session, actor, patient_id, audit_read=False)
    if actor.role == "patient":
        if actor.patient_id != patient.id:
            raise AccessDenied("a patient may only report their own side effects",
                               patient_id=patient.id)
        for field, default in _ASSESSMENT_DEFAULTS.items():
            if getattr(body, field) != default:
                raise AccessDenied(
                    f"{field}: is the clinician's assessment of the side effect; a patient's "
                    "report gives what happened, when and how bad", patient_id=patient.id)
    else:
        can_write_clinical(actor, patient, "record side effects")
    _own_cycle(session, patient, body.cycle_id, given_only=actor.role == "patient")
    doc = triage_texts([body.term], ref)
    se = SideEffect(patient_id=patient.id, cycle_id=body.cycle_id, term=body.term,
                    onset=body.onset, severity=body.severity, serious=body.serious,
                    outcome=body.outcome, relatedness=body.relatedness,
                    red_flags=[f["id"] for f in doc["flags"]], triage_level=doc["level"],
                    triage=doc, reported_by=actor.user_id, reported_at=audit.now(),
                    status="active", version=1)
    session.add(se)
    session.flush()
    audit.record(session, actor, "create", "side_effect", se.id, patient.id)
    return se


@use_case()
def add_diary(session: Session, actor: Actor, patient_id: int, body: DiaryIn,
              ref: Reference) -> DiaryEntry:
    """A diary entry; what the patient wrote (side effects and note) is triaged like a
    side-effect report, and a red flag or an unclear mention reaches the clinic's list."""
    patient = get_patient(session, actor, patient_id, audit_read=False)
    if actor.role != "patient" or actor.patient_id != patient.id:
        raise AccessDenied("only the patient writes their diary", entity="diary",
                           patient_id=patient.id)
    doc = triage_texts([body.side_effects, body.note], ref)
    d = DiaryEntry(patient_id=patient.id, entry_date=body.entry_date,
                   spasm_frequency=body.spasm_frequency, spasm_intensity=body.spasm_intensity,
                   pain=body.pain, side_effects=body.side_effects, note=body.note,
                   red_flags=[f["id"] for f in doc["flags"]], triage_level=doc["level"],
                   triage=doc, created_by=actor.user_id, created_at=audit.now(),
                   status="active", version=1)
    session.add(d)
    session.flush()
    audit.record(session, actor, "create", "diary", d.id, patient.id)
    return d


@use_case()
def clinic_reports(session: Session, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """The clinic's list of what patients reported: side effects, and diary entries whose
    words are a red flag or unclear. Urgent first, then unclear (the clinic calls back),
    then the rest; newest first within each."""
    require_role(actor, ("admin", "clinician", "nurse"), "see the clinic's side effects")
    def side_effects(*where: Any) -> list[Any]:
        return list(session.execute(
            select(SideEffect, Patient).join(Patient, Patient.id == SideEffect.patient_id)
            .where(Patient.clinic_id == actor.clinic_id, SideEffect.status == "active", *where)
            .order_by(SideEffect.reported_at.desc(), SideEffect.id.desc()).limit(limit)
        ).all())

    # the newest reports, and every recent urgent or unclear one even if older than those
    ses = {se.id: (se, p) for se, p in side_effects()}
    for se, p in side_effects(SideEffect.triage_level.in_(("urgent", "unclear"))):
        ses.setdefault(se.id, (se, p))
    diary = session.execute(
        select(DiaryEntry, Patient).join(Patient, Patient.id == DiaryEntry.patient_id)
        .where(Patient.clinic_id == actor.clinic_id, DiaryEntry.status == "active",
               DiaryEntry.triage_level.in_(("urgent", "unclear")))
        .order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc()).limit(limit)
    ).all()
    out: list[dict[str, Any]] = []
    for se, p in ses.values():
        out.append(_report("side_effect", se.id, p, se.reported_at, se.term, se.severity,
                           se.serious, list(se.red_flags or []), se.triage))
    for d, p in diary:
        words = "; ".join(t for t in (d.side_effects, d.note) if t)
        out.append(_report("diary", d.id, p, d.created_at, words, None, False,
                           list(d.red_flags or []), d.triage))
    # the cycle diary's current answers (issue 17 item 6), triaged as the diary is
    cycle_diary = session.execute(
        select(CycleDiary, Patient).join(Patient, Patient.id == CycleDiary.patient_id)
        .where(Patient.clinic_id == actor.clinic_id, CycleDiary.status == "active",
               CycleDiary.triage_level.in_(("urgent", "unclear")))
        .order_by(CycleDiary.created_at.desc(), CycleDiary.id.desc()).limit(limit)
    ).all()
    for cd, p in cycle_diary:
        words = "; ".join(t for t in (cd.side_effects, cd.note) if t)
        out.append(_report("cycle_diary", cd.id, p, cd.created_at, words, None, False,
                           list(cd.red_flags or []), cd.triage))
    out.sort(key=lambda r: r["reported_at"], reverse=True)
    out.sort(key=lambda r: LEVEL_RANK[r["level"]])  # stable: newest first within a level
    audit.record(session, actor, "read", "side_effect",
                 detail=f"clinic list n={len(out)} (side effects and diary)")
    return out


def _report(kind: str, rid: int, p: Patient, at: datetime, words: str, severity: str | None,
            serious: bool, flags: list[str], doc: dict[str, Any] | None) -> dict[str, Any]:
    level = "urgent" if flags else level_of(doc, flags)
    possible = [f["id"] for f in (doc or {}).get("possible", [])]
    return {"kind": kind, "id": rid, "patient_id": p.id, "patient_name": p.display_name,
            "mrn": p.mrn, "reported_at": at, "words": words, "severity": severity,
            "serious": serious, "level": level, "red_flags": flags, "possible": possible}
