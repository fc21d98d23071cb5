"""The cycle diary (issue 17 item 6): ``GET /api/v1/cycles/{id}/diary`` (the current answer,
the earlier ones and the global impression's answers with their sources),
``POST /api/v1/cycles/{id}/diary`` (the patient answers, or amends with ``version`` and
``reason``), ``POST /api/v1/cycle-diary/{id}/entered-in-error``. The rules are in
bontrack.services.cycle_diary and bontrack.clinical.cycle_diary."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bontrack.api.common import V1 as v1
from bontrack.api.common import IfMatch, one, version_of
from bontrack.api.outputs import ERRORS, EnteredInErrorOut, Out, TriageOut, answers
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.server.deps import RecordId, TokenDep, authed, state
from bontrack.services import cycle_diary
from bontrack.services.cycle_diary import CycleDiaryErrorIn, CycleDiaryIn

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)


class CycleDiaryAnswerOut(Out):
    id: int
    patient_id: int
    cycle_id: int
    onset: Literal["date", "not_yet", "no_effect"]
    onset_date: str | None
    wore_off: Literal["date", "not_yet"]
    wore_off_date: str | None
    global_impression: int | None
    global_impression_label: str | None
    spasm_frequency: int | None
    spasm_intensity: int | None
    pain: int | None
    side_effects: str
    note: str
    red_flags: list[str]
    urgent: bool
    triage: TriageOut
    reason: str
    replaces_id: int | None
    replaced_by: int | None
    created_by: int
    created_at: str | None
    status: Literal["active", "amended", "entered_in_error"]
    version: int
    entered_in_error: EnteredInErrorOut | None


class ImpressionAnswerOut(Out):
    value: int
    label: str
    source: str


class ImpressionOut(Out):
    question: str
    scale: str
    answers: list[ImpressionAnswerOut]
    source: str


class CycleDiaryOut(Out):
    cycle_id: int
    cycle_date: str
    cycle_status: str
    can_answer: bool
    current: CycleDiaryAnswerOut | None
    history: list[CycleDiaryAnswerOut]
    impression: ImpressionOut


@router.get(f"{v1}/cycles/{{cycle_id}}/diary", tags=["cycle diary"],
            responses=answers(CycleDiaryOut))
def read_cycle_diary(cycle_id: RecordId, request: Request, token: TokenDep) -> JSONResponse:
    """The patient's answers about a given cycle: the current one and every earlier one."""
    with authed(request, token) as (uow, actor):
        out = cycle_diary.cycle_diary(uow, actor, cycle_id)
    return JSONResponse(out)


@router.post(f"{v1}/cycles/{{cycle_id}}/diary", tags=["cycle diary"], status_code=201,
             responses=answers(CycleDiaryAnswerOut, 201))
def answer_cycle_diary(cycle_id: RecordId, body: CycleDiaryIn, request: Request,
                       token: TokenDep, if_match: IfMatch = None) -> JSONResponse:
    """The patient answers (or amends: the current answer's version, as If-Match or
    ``version``, and ``reason``) when the injection started working and wore off,
    symptoms and global impression."""
    if body.version is None and if_match is not None:
        body = body.model_copy(update={"version": version_of(if_match)})
    with authed(request, token) as (uow, actor):
        row = cycle_diary.answer_cycle_diary(uow, actor, cycle_id, body, state(request).ref,
                                             cycle_diary.today_anywhere())
        out = cycle_diary.answer_view(row)
    return one(out, 201)


@router.post(f"{v1}/cycle-diary/{{record_id}}/entered-in-error", tags=["cycle diary"],
             responses=answers(CycleDiaryAnswerOut))
def cycle_diary_entered_in_error(record_id: RecordId, body: CycleDiaryErrorIn,
                                 request: Request, token: TokenDep,
                                 if_match: IfMatch = None) -> JSONResponse:
    """Mark the current answer entered in error (kept, audited, no longer analysed)."""
    if body.version is None and if_match is not None:
        body = body.model_copy(update={"version": version_of(if_match)})
    with authed(request, token) as (uow, actor):
        out = cycle_diary.answer_view(cycle_diary.enter_in_error(uow, actor, record_id, body))
    return one(out)
