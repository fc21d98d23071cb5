"""Entered in error for outcomes, goals, side effects and diary entries:
``POST /api/v1/{outcomes|goals|side-effects|diary}/{id}/entered-in-error`` with a reason
and the version edited (If-Match or ``version``), as for cycles. The record is kept, marked
and audited (bontrack.services.corrections)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bontrack.api.common import V1 as v1
from bontrack.api.common import IfMatch, one, version_of
from bontrack.api.outputs import ERRORS, DiaryOut, GoalOut, Out, OutcomeOut, SideEffectOut, answers
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.server.deps import RecordId, TokenDep, authed
from bontrack.services import corrections
from bontrack.services.schemas import EnteredInErrorIn
from bontrack.services.views import diary_view, goal_view, outcome_view, side_effect_view

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

#: path segment -> (kind, the view of the record, its answer's schema, tag)
KINDS: dict[str, tuple[corrections.Kind, Callable[[Any], dict[str, Any]], type[Out], str]] = {
    "outcomes": ("outcome", outcome_view, OutcomeOut, "outcomes"),
    "goals": ("goal", goal_view, GoalOut, "goals"),
    "side-effects": ("side_effect", side_effect_view, SideEffectOut, "side effects"),
    "diary": ("diary", diary_view, DiaryOut, "diary"),
}


def _route(kind: corrections.Kind, view: Callable[[Any], dict[str, Any]]
           ) -> Callable[..., JSONResponse]:
    def entered_in_error(record_id: RecordId, body: EnteredInErrorIn, request: Request,
                         token: TokenDep, if_match: IfMatch = None) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = view(corrections.enter_in_error(uow, actor, kind, record_id, body,
                                                  version_of(if_match)))
        return one(out)

    return entered_in_error


for segment, (kind, view, schema, tag) in KINDS.items():
    name = f"{kind}_entered_in_error"
    router.add_api_route(f"{v1}/{segment}/{{record_id}}/entered-in-error", _route(kind, view),
                         methods=["POST"], tags=[tag], name=name, operation_id=name,
                         responses=answers(schema),
                         summary=f"Mark a {corrections.NAMES[kind]} entered in error")
