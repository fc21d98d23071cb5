"""The clinic's vial log and "which patients got lot X" (issue 17 item 9) in the REST API:
open a reconstituted vial, draw units from it into several patients' cycles, close it (the
units left are discarded: JW, or JZ for none), mark a wrong draw or vial entered in error,
and search a lot over the log and the vials recorded on cycles, as JSON or CSV.
Same use cases and role rules as the web pages (bontrack.services.vial_log)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from bontrack.api.common import V1 as v1
from bontrack.api.common import IfMatch, one, version_of
from bontrack.api.outputs import ERRORS
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.server.deps import RecordId, TokenDep, authed, state
from bontrack.server.downloads import attachment
from bontrack.services import vial_log
from bontrack.services.schemas import ClinicVialIn, EnteredInErrorIn, VialCloseIn, VialDrawIn

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

Lot = Annotated[str, Query(min_length=1, max_length=64)]
ProductName = Annotated[str | None, Query(min_length=1, max_length=80)]
Status = Annotated[str, Query(max_length=20)]
Match = Annotated[str, Query(max_length=10)]


@router.get(f"{v1}/vials", tags=["vials"])
def vials(request: Request, token: TokenDep, status: Status = "open") -> dict[str, Any]:
    """The clinic's vial log, newest first (``status``: open, closed, entered_in_error or
    all): each vial with its draws, units drawn and left, the label's use-within time with
    its source (or "not checked"), and once closed the units discarded with the billing
    modifier (JW; JZ for none). Staff only."""
    with authed(request, token) as (uow, actor):
        return vial_log.vial_log(uow, actor, state(request).ref, status)


@router.post(f"{v1}/vials", tags=["vials"], status_code=201)
def open_vial(body: ClinicVialIn, request: Request, token: TokenDep) -> JSONResponse:
    """Open a reconstituted vial in the log (nurses and clinicians): product, a size it is
    supplied in, lot, expiry and when it was reconstituted."""
    with authed(request, token) as (uow, actor):
        out = vial_log.open_vial(uow, actor, body, state(request).ref)
    return one(out, 201)


@router.get(f"{v1}/vials/{{vial_id}}", tags=["vials"])
def vial(vial_id: RecordId, request: Request, token: TokenDep) -> JSONResponse:
    """One vial of the log with every draw (entered-in-error ones too)."""
    with authed(request, token) as (uow, actor):
        out = vial_log.get_vial(uow, actor, vial_id, state(request).ref)
    return one(out)


@router.post(f"{v1}/vials/{{vial_id}}/draws", tags=["vials"], status_code=201)
def draw(vial_id: RecordId, body: VialDrawIn, request: Request, token: TokenDep
         ) -> JSONResponse:
    """Draw ``units`` into cycle ``cycle_id``. Refused (422, naming the field) into a cycle
    of another product, beyond the units left, and — unless a clinician gives
    ``override_reason`` — after the vial's expiry or the label's hours after reconstitution
    (the message cites them)."""
    with authed(request, token) as (uow, actor):
        out = vial_log.draw(uow, actor, vial_id, body, state(request).ref)
    return one(out, 201)


@router.post(f"{v1}/vials/{{vial_id}}/close", tags=["vials"])
def close(vial_id: RecordId, body: VialCloseIn, request: Request, token: TokenDep,
          if_match: IfMatch = None) -> JSONResponse:
    """Close the vial (If-Match: its version): the units left are discarded."""
    with authed(request, token) as (uow, actor):
        out = vial_log.close_vial(uow, actor, vial_id, body, version_of(if_match),
                                  state(request).ref)
    return one(out)


@router.post(f"{v1}/vials/{{vial_id}}/entered-in-error", tags=["vials"])
def vial_in_error(vial_id: RecordId, body: EnteredInErrorIn, request: Request,
                  token: TokenDep, if_match: IfMatch = None) -> JSONResponse:
    """Mark a vial logged by mistake entered in error (refused while it has active draws)."""
    with authed(request, token) as (uow, actor):
        out = vial_log.vial_in_error(uow, actor, vial_id, body, version_of(if_match),
                                     state(request).ref)
    return one(out)


@router.post(f"{v1}/vial-draws/{{draw_id}}/entered-in-error", tags=["vials"])
def draw_in_error(draw_id: RecordId, body: EnteredInErrorIn, request: Request,
                  token: TokenDep, if_match: IfMatch = None) -> JSONResponse:
    """Mark a wrong draw entered in error, with a reason (If-Match: the draw's version);
    answers its vial. The draw is kept."""
    with authed(request, token) as (uow, actor):
        out = vial_log.draw_in_error(uow, actor, draw_id, body, version_of(if_match),
                                     state(request).ref)
    return one(out)


@router.get(f"{v1}/lots", tags=["vials"])
def lots(request: Request, token: TokenDep, lot: Lot, product: ProductName = None,
         match: Match = "all") -> dict[str, Any]:
    """Which patients got lot ``lot`` (optionally of ``product``): the vial log's draws and
    the vials recorded on cycles, with patient, MRN, cycle date, units and clinician.
    ``match=all`` (default): the lot as typed first, then lots that are the same without
    spaces and hyphens, then lots starting with it; each row gives its ``lot`` and
    ``match`` (``exact``, ``normalised``, ``prefix``), and ``lots`` lists the lots found.
    ``match=exact``: the lot as typed only. Staff of the clinic only."""
    with authed(request, token) as (uow, actor):
        return vial_log.lot_search(uow, actor, lot, product, state(request).ref, match)


@router.get(f"{v1}/lots.csv", tags=["vials"], responses={200: {"content": {"text/csv": {}}}})
def lots_csv(request: Request, token: TokenDep, lot: Lot, product: ProductName = None,
             match: Match = "all") -> Response:
    """The same search as a CSV file for a recall (cells safe to open in a spreadsheet),
    each row with the lot it matched and how (``lot``, ``match``)."""
    with authed(request, token) as (uow, actor):
        found = vial_log.lot_search(uow, actor, lot, product, state(request).ref, match)
    name, text = vial_log.lot_csv(found)
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": attachment(name),
                             "Cache-Control": "no-store"})
