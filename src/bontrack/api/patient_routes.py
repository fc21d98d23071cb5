"""Patients and their records: create, search, read and change a patient; weights, the
timeline; conditions, outcomes, goals, side effects and the diary, listed and added."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bontrack.api.common import V1 as v1
from bontrack.api.common import Cursor, IfMatch, Limit, Offset, one, page, version_of
from bontrack.api.outputs import (
    ERRORS,
    ConditionOut,
    DiaryOut,
    GoalOut,
    Out,
    OutcomeOut,
    PatientOut,
    PatientSearchPage,
    SideEffectOut,
    TimelineOut,
    WeightOut,
    answers,
    page_of,
)
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.server.deps import (
    RecordId,
    TokenDep,
    authed,
    bearer_of,
    read_as,
    state,
)
from bontrack.server.fast_lane import Lane, header
from bontrack.services import goals, records, timeline
from bontrack.services.schemas import (
    ConditionIn,
    DiaryIn,
    GoalIn,
    GoalScoreIn,
    GoalStatementIn,
    OutcomeIn,
    PatientIn,
    PatientPatch,
    SideEffectIn,
    WeightIn,
)
from bontrack.services.views import (
    condition_view,
    diary_view,
    goal_view,
    outcome_view,
    patient_view,
    side_effect_view,
    weight_view,
)

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

# -- patients ------------------------------------------------------------------------
@router.post(f"{v1}/patients", tags=["patients"], status_code=201,
           responses=answers(PatientOut, 201))
def create_patient(body: PatientIn, request: Request, token: TokenDep) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        p = records.create_patient(uow, actor, body, state(request).ref)
        out = patient_view(p)
    return one(out, 201)

@router.get(f"{v1}/patients", tags=["patients"], responses=answers(PatientSearchPage))
def search_patients(request: Request, token: TokenDep, q: str | None = None,
                    limit: Limit = 50, offset: Offset = 0,
                    cursor: Cursor = None) -> dict[str, Any]:
    """Keyset paging: pass the answer's ``next_cursor`` as ``cursor`` for the next page
    (``offset`` still works). ``total`` is counted up to 200 (``total_exact``)."""
    with authed(request, token) as (uow, actor):
        found = records.search_patients(uow, actor, q, limit, offset, cursor)
        return {"items": [patient_view(p) for p in found.rows], "total": found.total,
                "total_exact": found.total_exact, "limit": limit, "offset": offset,
                "next_offset": offset + limit if found.more and cursor is None else None,
                "next_cursor": found.next_cursor}

@router.get(f"{v1}/patients/{{patient_id}}", tags=["patients"],
         responses=answers(PatientOut))
def read_patient(patient_id: RecordId, request: Request, token: TokenDep) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        out = patient_view(records.get_patient(uow, actor, patient_id))
    return one(out)

@router.patch(f"{v1}/patients/{{patient_id}}", tags=["patients"],
           responses=answers(PatientOut))
def update_patient(patient_id: RecordId, body: PatientPatch, request: Request, token: TokenDep,
                   if_match: IfMatch = None) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        p = records.update_patient(uow, actor, patient_id, body, version_of(if_match),
                                   state(request).ref)
        out = patient_view(p)
    return one(out)

@router.post(f"{v1}/patients/{{patient_id}}/weights", tags=["patients"], status_code=201,
          responses=answers(WeightOut, 201))
def add_weight(patient_id: RecordId, body: WeightIn, request: Request, token: TokenDep
               ) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        out = weight_view(records.add_weight(uow, actor, patient_id, body))
    return JSONResponse(out, status_code=201)

@router.get(f"{v1}/patients/{{patient_id}}/timeline", tags=["patients"],
         responses=answers(TimelineOut))
async def patient_timeline(patient_id: RecordId, request: Request, token: TokenDep
                           ) -> Response:
    body = await read_as(request, token, timeline.timeline_json, patient_id)
    return Response(body, media_type="application/json")


async def cached_timeline(app: Any, scope: dict[str, Any], raw_id: str) -> bytes | None:
    """The timeline GET's fast lane (``server.fast_lane``): a bearer token, and an answer
    the service already holds for this version of the record (``timeline.cached_timeline``);
    it answers once the read's audit event is committed. Else the route above answers,
    and so it does when the kept lookup the answer relied on was found changed as the
    event was committed (``StaleRead``, raised here: nothing of this request was
    written)."""
    token = bearer_of(header(scope, b"authorization"))
    if token is None:
        return None
    db = app.state.bontrack.db
    found = await timeline.cached_timeline(db, token, int(raw_id))
    if found is None:
        return None
    await db.record_reads(found.events, found.vouches)
    return found.body


#: The fast lanes of this module's routes (``api.app`` installs them): the id as the
#: declared route reads it only when plainly written (no sign, spaces or leading zeros).
LANES = (Lane("GET", re.compile(rf"{v1}/patients/([1-9][0-9]{{0,18}})/timeline"),
              cached_timeline),)


# -- lists and creates per patient ---------------------------------------------------
def listing(path: str, entity: str, view: Any, tag: str, out: type[Out]) -> None:
    @router.get(f"{v1}/patients/{{patient_id}}/{path}", tags=[tag], name=f"list_{entity}",
             responses=answers(page_of(out)))
    def _list(patient_id: RecordId, request: Request, token: TokenDep, limit: Limit = 50,
              offset: Offset = 0) -> dict[str, Any]:
        with authed(request, token) as (uow, actor):
            rows, total = records.list_for_patient(uow, actor, patient_id, entity,
                                                   limit, offset)
            return page([view(r) for r in rows], total, limit, offset)

listing("conditions", "condition", condition_view, "conditions", ConditionOut)
listing("outcomes", "outcome", outcome_view, "outcomes", OutcomeOut)
listing("goals", "goal", goal_view, "goals", GoalOut)
listing("side-effects", "side_effect", side_effect_view, "side effects",
        SideEffectOut)
listing("diary", "diary", diary_view, "diary", DiaryOut)

@router.post(f"{v1}/patients/{{patient_id}}/conditions", tags=["conditions"], status_code=201,
          responses=answers(ConditionOut, 201))
def add_condition(patient_id: RecordId, body: ConditionIn, request: Request, token: TokenDep
                  ) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        out = condition_view(records.add_condition(uow, actor, patient_id, body,
                                                   state(request).ref))
    return JSONResponse(out, status_code=201)

@router.post(f"{v1}/patients/{{patient_id}}/outcomes", tags=["outcomes"], status_code=201,
          responses=answers(OutcomeOut, 201))
def add_outcome(patient_id: RecordId, body: OutcomeIn, request: Request, token: TokenDep
                ) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        out = outcome_view(records.add_outcome(uow, actor, patient_id, body,
                                               state(request).ref))
    return JSONResponse(out, status_code=201)

@router.post(f"{v1}/patients/{{patient_id}}/goals", tags=["goals"], status_code=201,
          responses=answers(GoalOut, 201))
def add_goal(patient_id: RecordId, body: GoalIn, request: Request, token: TokenDep
             ) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        out = goal_view(records.add_goal(uow, actor, patient_id, body))
    return one(out, 201)

@router.post(f"{v1}/goals/{{goal_id}}/score", tags=["goals"], responses=answers(GoalOut))
def score_goal(goal_id: RecordId, body: GoalScoreIn, request: Request, token: TokenDep,
               if_match: IfMatch = None) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        out = goal_view(records.score_goal(uow, actor, goal_id, body, version_of(if_match)))
    return one(out)

@router.post(f"{v1}/goals/{{goal_id}}/statement", tags=["goals"], responses=answers(GoalOut))
def edit_goal_statement(goal_id: RecordId, body: GoalStatementIn, request: Request,
                        token: TokenDep, if_match: IfMatch = None) -> JSONResponse:
    """Change a goal's words (If-Match); the earlier words stay in the audit trail."""
    with authed(request, token) as (uow, actor):
        out = goal_view(goals.edit_statement(uow, actor, goal_id, body, version_of(if_match)))
    return one(out)

@router.post(f"{v1}/patients/{{patient_id}}/side-effects", tags=["side effects"],
          status_code=201, responses=answers(SideEffectOut, 201))
def add_side_effect(patient_id: RecordId, body: SideEffectIn, request: Request, token: TokenDep
                    ) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        out = side_effect_view(records.add_side_effect(uow, actor, patient_id, body,
                                                       state(request).ref))
    return JSONResponse(out, status_code=201)

@router.post(f"{v1}/patients/{{patient_id}}/diary", tags=["diary"], status_code=201,
          responses=answers(DiaryOut, 201))
def add_diary(patient_id: RecordId, body: DiaryIn, request: Request, token: TokenDep
              ) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        out = diary_view(records.add_diary(uow, actor, patient_id, body,
                                           state(request).ref))
    return JSONResponse(out, status_code=201)
