"""Analytics in the REST API: the same figures as the patient page and the clinic dashboard,
as JSON, with the same role rules (bontrack.analytics)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from bontrack import analytics
from bontrack.api.common import V1
from bontrack.api.outputs import ERRORS
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.server.deps import RecordId, TokenDep, authed, state
from bontrack.server.routing import add_routes

DateQ = Annotated[str | None, Query(alias="from", description="First cycle date, YYYY-MM-DD")]


router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

v1 = V1

@router.get(f"{v1}/patients/{{patient_id}}/analytics", tags=["analytics"])
def patient_analytics(patient_id: RecordId, request: Request, token: TokenDep
                      ) -> dict[str, Any]:
    """Response per cycle and outcome series, dose per muscle over time, typical
    duration of benefit, suggested next window, waning warning."""
    with authed(request, token) as (uow, actor):
        return analytics.patient_analytics(uow, actor, patient_id, state(request).ref)

@router.get(f"{v1}/clinic/analytics", tags=["analytics"])
def clinic_analytics(request: Request, token: TokenDep, date_from: DateQ = None,
                     to: str | None = None, indication: str | None = None,
                     product: str | None = None, clinician: str | None = None
                     ) -> dict[str, Any]:
    """The clinic's figures under the filters (clinic leads and clinicians only)."""
    with authed(request, token) as (uow, actor):
        ref = state(request).ref
        f = analytics.read_filters(uow, actor, ref, {
            "from": date_from, "to": to, "indication": indication, "product": product,
            "clinician": clinician})
        return analytics.clinic_analytics(uow, actor, ref, f)


def install_analytics_routes(app: FastAPI) -> None:
    add_routes(app, router)
