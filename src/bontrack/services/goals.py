"""Editing a goal's statement (issue 17 item 5): the words of a goal change as the team and
the patient refine it; the goal keeps its id, weight and score, its version goes up, and
the earlier words are kept in the audit trail (clinical records are never overwritten
without a trace)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bontrack.errors import Conflict, NotFound
from bontrack.services import audit
from bontrack.services.access import Actor, can_write_clinical
from bontrack.services.records import check_version, get_patient
from bontrack.services.schemas import GoalStatementIn, holds_id
from bontrack.services.usecase import use_case
from bontrack.store.models import Goal


@use_case()
def edit_statement(session: Session, actor: Actor, goal_id: int, body: GoalStatementIn,
                   if_match: int | None) -> Goal:
    goal = session.get(Goal, goal_id) if holds_id(goal_id) else None
    if goal is None:
        raise NotFound(f"goal {goal_id} not found")
    patient = get_patient(session, actor, goal.patient_id, audit_read=False,
                          asked=f"goal {goal_id}")
    can_write_clinical(actor, patient, "edit goals")
    if goal.status != "active":
        raise Conflict(f"goal {goal_id} is {goal.status.replace('_', ' ')}: it is not edited",
                       field="status")
    check_version(goal.version, if_match if if_match is not None else body.version,
                  f"goal {goal_id}")
    before = goal.description
    if body.description != before:
        goal.description = body.description
        goal.version += 1
        audit.record(session, actor, "update", "goal", goal.id, patient.id,
                     detail=f"statement was: {before}")
    return goal
