"""Recall and the next visit (issue 17 item 4) in the REST API: the clinic's recall list,
a patient's booked next visit with its history, booking, rescheduling and cancelling, and
the booked visit as an iCalendar file. Same use cases and role rules as the web pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from bontrack.analytics.recall import recall_list
from bontrack.api.common import V1 as v1
from bontrack.api.common import IfMatch, one, version_of
from bontrack.api.outputs import ERRORS
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.server.deps import RecordId, TokenDep, authed, state
from bontrack.server.downloads import attachment
from bontrack.services import given, visits
from bontrack.services.schemas import VisitCancelIn, VisitChangeIn, VisitIn

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

Sort = Annotated[str, Query(max_length=20)]
Status = Annotated[str | None, Query(max_length=20)]


@router.get(f"{v1}/recall", tags=["recall"])
def recall(request: Request, token: TokenDep, sort: Sort = "due", status: Status = None,
           desc: bool = False) -> dict[str, Any]:
    """The clinic's recall list as of today: every patient with a given cycle, their last
    cycle, earliest safe date, expected due date and how it was computed, status
    (``overdue``, ``due``, ``booked``, ``not_yet``, ``not_checked``) and booked visit.
    Staff only."""
    with authed(request, token) as (uow, actor):
        return recall_list(uow, actor, state(request).ref, given.today(), sort, status, desc)


@router.get(f"{v1}/patients/{{patient_id}}/visits", tags=["recall"])
def patient_visits(patient_id: RecordId, request: Request, token: TokenDep) -> dict[str, Any]:
    """The booked next visit (``next_visit``, or null), the earliest safe date with its
    source, and every booking kept (cancelled and rescheduled ones too)."""
    with authed(request, token) as (uow, actor):
        return visits.visits(uow, actor, patient_id, state(request).ref)


@router.post(f"{v1}/patients/{{patient_id}}/visits", tags=["recall"], status_code=201)
def book(patient_id: RecordId, body: VisitIn, request: Request, token: TokenDep
         ) -> JSONResponse:
    """Book the next visit. A day before the earliest safe date is refused (422, naming the
    date and its source) unless a clinician gives ``override_reason``; a second open
    booking is refused (409)."""
    with authed(request, token) as (uow, actor):
        out = visits.book_visit(uow, actor, patient_id, body, state(request).ref)
    return one(out, 201)


@router.post(f"{v1}/patients/{{patient_id}}/next-visit/reschedule", tags=["recall"],
             status_code=201)
def reschedule(patient_id: RecordId, body: VisitChangeIn, request: Request, token: TokenDep,
               if_match: IfMatch = None) -> JSONResponse:
    """A new day and/or clinician for the booked next visit, with a reason (If-Match: its
    version): answers the new booking; the old one is kept as ``replaced``."""
    with authed(request, token) as (uow, actor):
        out = visits.reschedule_visit(uow, actor, patient_id, body, version_of(if_match),
                                      state(request).ref)
    return one(out, 201)


@router.post(f"{v1}/patients/{{patient_id}}/next-visit/cancel", tags=["recall"])
def cancel(patient_id: RecordId, body: VisitCancelIn, request: Request, token: TokenDep,
           if_match: IfMatch = None) -> JSONResponse:
    """Cancel the booked next visit, with a reason (If-Match: its version)."""
    with authed(request, token) as (uow, actor):
        out = visits.cancel_visit(uow, actor, patient_id, body, version_of(if_match))
    return one(out)


@router.get(f"{v1}/patients/{{patient_id}}/next-visit.ics", tags=["recall"],
            responses={200: {"content": {"text/calendar": {}}}})
def next_visit_ics(patient_id: RecordId, request: Request, token: TokenDep) -> Response:
    """The booked next visit as an iCalendar file (RFC 5545); 404 when none is booked."""
    with authed(request, token) as (uow, actor):
        name, text = visits.next_visit_calendar(uow, actor, patient_id)
    return ics_response(name, text)


def ics_response(name: str, text: str) -> Response:
    return Response(text.encode("utf-8"), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": attachment(name),
                             "Cache-Control": "no-store"})
