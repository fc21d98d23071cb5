"""Recall and the next visit on the web (issue 17 item 4): the clinic's recall list
(sortable, filterable, as CSV), and a patient's next visit: booked, rescheduled or
cancelled by staff, shown to the patient, downloadable as iCalendar. The same use cases
and role rules as the API (``/api/v1/recall``, ``/api/v1/patients/{id}/visits``)."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from bontrack.analytics.recall import SORTS, recall_list
from bontrack.clinical.recall import STATUSES
from bontrack.errors import AccessDenied, Conflict, InvalidRecord, NotFound, VersionMismatch
from bontrack.server.deps import RecordId, state
from bontrack.server.downloads import attachment
from bontrack.server.routing import add_routes
from bontrack.services import given, visits
from bontrack.services.schemas import VisitCancelIn, VisitChangeIn, VisitIn
from bontrack.spreadsheet import safe
from bontrack.web.form_errors import plain_error
from bontrack.web.rendering import check_csrf, render, signed_in, unit_of_work

router = APIRouter()
REFUSED = (ValidationError, InvalidRecord, Conflict, VersionMismatch, AccessDenied, NotFound)
WORDS = {"overdue": "Overdue", "due": "Due", "booked": "Booked", "not_yet": "Not yet",
         "not_checked": "Not checked"}
ROWS = 200  # patients a page of the list
COLUMNS = ("mrn", "name", "last_given_date", "earliest_date", "expected_date", "window_end",
           "status", "days_overdue", "visit_date", "visit_clinician", "missed_booking",
           "basis")


def _choice(value: str | None, allowed: tuple[str, ...], default: str | None) -> str | None:
    return value if value in allowed else default


@router.get("/recall", include_in_schema=False)
def recall_page(request: Request, sort: str | None = None, status: str | None = None,
                desc: str | None = None, offset: int = 0) -> Response:
    """The list, ``ROWS`` patients a page (the CSV holds them all)."""
    offset = max(0, min(offset, 10_000_000))
    sort_ = _choice(sort, SORTS, "due") or "due"
    status_ = _choice(status, STATUSES, None)
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        out = recall_list(uow, actor, state(request).ref, given.today(), sort_, status_,
                          desc == "1")

    def link(**over: str | None) -> str:
        q = {"sort": sort_, "status": status_, "desc": "1" if desc == "1" else None, **over}
        return "/recall?" + urlencode({k: v for k, v in q.items() if v})

    rows = out["items"][offset:offset + ROWS]
    csv_query = urlencode({k: v for k, v in (("sort", sort_), ("status", status_)) if v})
    return render(request, "recall.html", actor=actor, r=out, rows=rows, words=WORDS,
                  link=link, sorts=SORTS, statuses=STATUSES, desc=desc == "1",
                  csv_query=csv_query, first=offset + 1 if rows else 0,
                  last=offset + len(rows),
                  prev=link(offset=str(max(0, offset - ROWS))) if offset > 0 else None,
                  next=link(offset=str(offset + ROWS))
                  if offset + ROWS < out["total"] else None)


@router.get("/recall.csv", include_in_schema=False)
def recall_csv(request: Request, sort: str | None = None, status: str | None = None
               ) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        out = recall_list(uow, actor, state(request).ref, given.today(),
                          _choice(sort, SORTS, "due") or "due",
                          _choice(status, STATUSES, None))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for row in out["items"]:
        w.writerow([safe(row[c]) for c in COLUMNS])
    return Response(buf.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": attachment(f"recall-{out['as_of']}.csv"),
                             "Cache-Control": "no-store"})


def visit_page(request: Request, uow: Any, actor: Any, patient_id: int,
               error: str | None = None, status: int = 200,
               typed: dict[str, str] | None = None) -> Response:
    v = visits.visits(uow, actor, patient_id, state(request).ref)
    can_book = actor.role in ("clinician", "nurse")
    return render(request, "next_visit.html", status, actor=actor, v=v, error=error,
                  form=typed or {}, can_book=can_book, today=given.today().isoformat(),
                  clinicians=visits.clinicians(uow, actor) if can_book else [],
                  patient_id=patient_id)


@router.get("/patients/{patient_id}/next-visit", include_in_schema=False)
def next_visit(request: Request, patient_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        return visit_page(request, uow, actor, patient_id)


def _text(form: FormData, key: str) -> str:
    return str(form.get(key) or "").strip()


def _doc(form: FormData, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: _text(form, k) for k in keys if _text(form, k)}


async def _change(request: Request, patient_id: int, action: str) -> Response:
    """Book, reschedule or cancel from the next-visit page; a refusal shows the page again
    with what was typed and one line naming the field."""
    form = await request.form()
    check_csrf(request, _text(form, "csrf"))
    doc = _doc(form, ("visit_date", "clinician_id", "note", "override_reason", "reason",
                      "version"))
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        ref = state(request).ref
        try:
            if action == "book":
                visits.book_visit(uow, actor, patient_id, VisitIn.model_validate(
                    {k: v for k, v in doc.items() if k not in ("reason", "version")}), ref)
            elif action == "reschedule":
                visits.reschedule_visit(uow, actor, patient_id,
                                        VisitChangeIn.model_validate(doc), None, ref)
            else:
                visits.cancel_visit(uow, actor, patient_id, VisitCancelIn.model_validate(
                    {k: v for k, v in doc.items() if k in ("reason", "version")}), None)
        except REFUSED as err:
            return visit_page(request, uow, actor, patient_id, plain_error(err),
                              getattr(err, "status", 422), {**doc, "action": action})
    return RedirectResponse(f"/patients/{patient_id}/next-visit", status_code=303)


@router.post("/patients/{patient_id}/next-visit", include_in_schema=False)
async def book(request: Request, patient_id: RecordId) -> Response:
    return await _change(request, patient_id, "book")


@router.post("/patients/{patient_id}/next-visit/reschedule", include_in_schema=False)
async def reschedule(request: Request, patient_id: RecordId) -> Response:
    return await _change(request, patient_id, "reschedule")


@router.post("/patients/{patient_id}/next-visit/cancel", include_in_schema=False)
async def cancel(request: Request, patient_id: RecordId) -> Response:
    return await _change(request, patient_id, "cancel")


@router.get("/patients/{patient_id}/next-visit.ics", include_in_schema=False)
def next_visit_ics(request: Request, patient_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        name, text = visits.next_visit_calendar(uow, actor, patient_id)
    return Response(text.encode("utf-8"), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": attachment(name),
                             "Cache-Control": "no-store"})


def install_recall_pages(app: FastAPI) -> None:
    add_routes(app, router)
