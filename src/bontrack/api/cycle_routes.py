"""Treatment cycles: record (the plan check runs on what is recorded), list, read with
revisions, change a draft, sign, amend and mark entered in error."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bontrack.api.common import V1 as v1
from bontrack.api.common import IfMatch, Limit, Offset, one, page, version_of
from bontrack.api.outputs import (
    ERRORS,
    CycleOut,
    CycleWithRevisionsOut,
    answers,
    page_of,
)
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.server.deps import RecordId, TokenDep, authed, state
from bontrack.services import cycles
from bontrack.services.schemas import (
    AmendIn,
    CycleIn,
    EnteredInErrorIn,
    SignIn,
)
from bontrack.services.views import (
    cycle_view,
    revision_views,
)

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

# -- cycles --------------------------------------------------------------------------
@router.post(f"{v1}/patients/{{patient_id}}/cycles", tags=["cycles"], status_code=201,
          responses=answers(CycleOut, 201))
def record_cycle(patient_id: RecordId, body: CycleIn, request: Request, token: TokenDep
                 ) -> JSONResponse:
    """Record a cycle: the plan check runs on what is recorded, with the history from
    the store. Stop findings need overrides (code + reason) given by a clinician."""
    with authed(request, token) as (uow, actor):
        c = cycles.record_cycle(uow, actor, patient_id, body, state(request).ref)
        out = cycle_view(c)
    return one(out, 201)

@router.get(f"{v1}/patients/{{patient_id}}/cycles", tags=["cycles"],
         responses=answers(page_of(CycleOut)))
def list_cycles(patient_id: RecordId, request: Request, token: TokenDep, limit: Limit = 50,
                offset: Offset = 0) -> dict[str, Any]:
    with authed(request, token) as (uow, actor):
        rows, total = cycles.list_cycles(uow, actor, patient_id, limit, offset)
        return page([cycle_view(c) for c in rows], total, limit, offset)

@router.get(f"{v1}/cycles/{{cycle_id}}", tags=["cycles"],
         responses=answers(CycleWithRevisionsOut))
def read_cycle(cycle_id: RecordId, request: Request, token: TokenDep) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        c = cycles.get_cycle(uow, actor, cycle_id)
        out = {**cycle_view(c), "revisions": revision_views(c)}
    return one(out)

@router.put(f"{v1}/cycles/{{cycle_id}}", tags=["cycles"], responses=answers(CycleOut))
def update_cycle(cycle_id: RecordId, body: AmendIn, request: Request, token: TokenDep,
                 if_match: IfMatch = None) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        c = cycles.update_draft(uow, actor, cycle_id, body, version_of(if_match),
                                state(request).ref)
        out = cycle_view(c)
    return one(out)

@router.post(f"{v1}/cycles/{{cycle_id}}/sign", tags=["cycles"], responses=answers(CycleOut))
def sign_cycle(cycle_id: RecordId, request: Request, token: TokenDep, body: SignIn | None = None,
               if_match: IfMatch = None) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        c = cycles.sign_cycle(uow, actor, cycle_id, body or SignIn(), version_of(if_match))
        out = cycle_view(c)
    return one(out)

@router.post(f"{v1}/cycles/{{cycle_id}}/amend", tags=["cycles"], responses=answers(CycleOut))
def amend_cycle(cycle_id: RecordId, body: AmendIn, request: Request, token: TokenDep,
                if_match: IfMatch = None) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        c = cycles.amend_cycle(uow, actor, cycle_id, body, version_of(if_match),
                               state(request).ref)
        out = cycle_view(c)
    return one(out)

@router.post(f"{v1}/cycles/{{cycle_id}}/entered-in-error", tags=["cycles"],
          responses=answers(CycleOut))
def entered_in_error(cycle_id: RecordId, body: EnteredInErrorIn, request: Request,
                     token: TokenDep, if_match: IfMatch = None) -> JSONResponse:
    with authed(request, token) as (uow, actor):
        c = cycles.enter_in_error(uow, actor, cycle_id, body, version_of(if_match))
        out = cycle_view(c)
    return one(out)
