"""Editing a goal's statement (issue 17 item 5): the words of a goal change as the team and
the patient refine it; the goal keeps its id, weight and score, its version goes up, and
the earlier words are kept in the audit trail (clinical records are never overwritten
without a trace)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bontrack.errors import Conflict
from bontrack.services import audit
from bontrack.services.access import Actor
from bontrack.services.records import check_version, goal_to_write
from bontrack.services.schemas import GoalStatementIn
from bontrack.services.usecase import use_case
from bontrack.store.models import Goal


@use_case()
def edit_statement(session: Session, actor: Actor, goal_id: int, body: GoalStatementIn,
                   if_match: int | None) -> Goal:
    goal, patient = goal_to_write(session, actor, goal_id, "edit goals")
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
