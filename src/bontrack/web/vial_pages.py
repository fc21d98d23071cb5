"""The clinic's vial log and lot search on the web (issue 17 item 9), for nurses and
clinicians: open a reconstituted vial, draw from it into several patients' cycles, close it
(units discarded: JW, none: JZ), mark a wrong draw entered in error; "which patients got
lot X" as a table and a CSV for a recall. The same use cases and role rules as the API
(``/api/v1/vials``, ``/api/v1/lots``; bontrack.services.vial_log).

Times typed here (a ``datetime-local`` field has no zone) are read in the clinic's time zone
(BONTRACK_CLINIC_TZ) and stored in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from bontrack.config import clinic_settings
from bontrack.errors import AccessDenied, Conflict, InvalidRecord, NotFound, VersionMismatch
from bontrack.server.deps import RecordId, state
from bontrack.server.downloads import attachment
from bontrack.server.routing import add_routes
from bontrack.services import vial_log
from bontrack.services.schemas import ClinicVialIn, EnteredInErrorIn, VialCloseIn, VialDrawIn
from bontrack.web.form_errors import plain_error
from bontrack.web.rendering import check_csrf, render, signed_in, unit_of_work

router = APIRouter()
REFUSED = (ValidationError, InvalidRecord, Conflict, VersionMismatch, AccessDenied, NotFound)
STATUSES = ("open", "closed", "entered_in_error", "all")
OPEN_FIELDS = ("product", "size_units", "diluent_ml", "lot", "expiry", "reconstituted_at",
               "note")


def _line(err: BaseException) -> str:
    """The form's one line; the field named once (the service's words start with it)."""
    line = plain_error(err)
    field = getattr(err, "field", None)
    if field and line.startswith(f"{field}: {field}: "):
        line = line[len(field) + 2:]
    return line


def _zone() -> ZoneInfo:
    return ZoneInfo(clinic_settings().time_zone)


def _now_local() -> str:
    return datetime.now(_zone()).strftime("%Y-%m-%dT%H:%M")


def _as_utc(text: str) -> str:
    """A ``datetime-local`` value read in the clinic's zone, as ISO with its offset (left
    as typed when it does not read as a time: the schema names the field)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    if at.tzinfo is None:
        at = at.replace(tzinfo=_zone())
    return at.isoformat()


def _text(form: FormData, key: str) -> str:
    return str(form.get(key) or "").strip()


def _doc(form: FormData, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: _text(form, k) for k in keys if _text(form, k)}


def _products(request: Request) -> list[tuple[str, str, list[str]]]:
    """(id, brand, supplied sizes) for the product choice."""
    ref = state(request).ref
    out = []
    for pid, p in sorted(ref.products.items(), key=lambda kv: kv[1].brands[0]):
        sizes = sorted({v.size_units for v in p.vials})
        out.append((pid, p.brands[0], [f"{s:f}".rstrip("0").rstrip(".") for s in sizes]))
    return out


def log_page(request: Request, uow: Any, actor: Any, status: str, error: str | None = None,
             code: int = 200, typed: dict[str, str] | None = None) -> Response:
    out = vial_log.vial_log(uow, actor, state(request).ref, status)
    return render(request, "vial_log.html", code, actor=actor, log=out, shown=status,
                  statuses=STATUSES, error=error, form=typed or {},
                  products=_products(request), now_local=_now_local(),
                  can_write=actor.role in ("clinician", "nurse"))


@router.get("/vials", include_in_schema=False)
def vials(request: Request, status: str | None = None) -> Response:
    status_ = status if status in STATUSES else "open"
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        return log_page(request, uow, actor, status_)


@router.post("/vials", include_in_schema=False)
async def open_vial(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, _text(form, "csrf"))
    doc = _doc(form, OPEN_FIELDS)
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        try:
            typed = {**doc, "reconstituted_at": _as_utc(doc.get("reconstituted_at", ""))}
            out = vial_log.open_vial(uow, actor, ClinicVialIn.model_validate(typed),
                                     state(request).ref)
        except REFUSED as err:
            return log_page(request, uow, actor, "open", _line(err),
                            getattr(err, "status", 422), doc)
    return RedirectResponse(f"/vials/{out['id']}", status_code=303)


def vial_page(request: Request, uow: Any, actor: Any, vial_id: int, error: str | None = None,
              code: int = 200, typed: dict[str, str] | None = None) -> Response:
    v = vial_log.get_vial(uow, actor, vial_id, state(request).ref)
    can_write = actor.role in ("clinician", "nurse")
    cycles = (vial_log.open_cycles(uow, actor, v["product"],
                                   datetime.fromisoformat(v["reconstituted_at"]))
              if can_write and v["status"] == "open" else [])
    return render(request, "vial.html", code, actor=actor, v=v, error=error,
                  form=typed or {}, cycles=cycles, can_write=can_write,
                  now_local=_now_local())


@router.get("/vials/{vial_id}", include_in_schema=False)
def vial(request: Request, vial_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        return vial_page(request, uow, actor, vial_id)


async def _change(request: Request, vial_id: int, action: str,
                  draw_id: int | None = None) -> Response:
    """Draw, close or mark entered in error from the vial's page; a refusal shows the page
    again with what was typed and one line naming the field."""
    form = await request.form()
    check_csrf(request, _text(form, "csrf"))
    doc = _doc(form, ("cycle_id", "units", "drawn_at", "override_reason", "reason",
                      "version", "note"))
    ref = None
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        ref = state(request).ref
        try:
            if action == "draw":
                body: dict[str, str] = {k: doc[k] for k in ("cycle_id", "units",
                                                             "override_reason") if k in doc}
                if doc.get("drawn_at"):
                    body["drawn_at"] = _as_utc(doc["drawn_at"])
                vial_log.draw(uow, actor, vial_id, VialDrawIn.model_validate(body), ref)
            elif action == "close":
                vial_log.close_vial(uow, actor, vial_id, VialCloseIn.model_validate(
                    {k: doc[k] for k in ("version", "note") if k in doc}), None, ref)
            elif action == "draw_error" and draw_id is not None:
                vial_log.draw_in_error(uow, actor, draw_id, EnteredInErrorIn.model_validate(
                    {k: doc[k] for k in ("version", "reason") if k in doc}), None, ref)
            else:
                vial_log.vial_in_error(uow, actor, vial_id, EnteredInErrorIn.model_validate(
                    {k: doc[k] for k in ("version", "reason") if k in doc}), None, ref)
        except REFUSED as err:
            return vial_page(request, uow, actor, vial_id, _line(err),
                             getattr(err, "status", 422), {**doc, "action": action})
    return RedirectResponse(f"/vials/{vial_id}", status_code=303)


@router.post("/vials/{vial_id}/draws", include_in_schema=False)
async def draw(request: Request, vial_id: RecordId) -> Response:
    return await _change(request, vial_id, "draw")


@router.post("/vials/{vial_id}/close", include_in_schema=False)
async def close(request: Request, vial_id: RecordId) -> Response:
    return await _change(request, vial_id, "close")


@router.post("/vials/{vial_id}/entered-in-error", include_in_schema=False)
async def vial_in_error(request: Request, vial_id: RecordId) -> Response:
    return await _change(request, vial_id, "vial_error")


@router.post("/vials/{vial_id}/draws/{draw_id}/entered-in-error", include_in_schema=False)
async def draw_in_error(request: Request, vial_id: RecordId, draw_id: RecordId) -> Response:
    return await _change(request, vial_id, "draw_error", draw_id)


@router.get("/lots", include_in_schema=False)
def lots(request: Request, lot: str = "", product: str = "", match: str = "all") -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        found, error = None, None
        if lot.strip():
            try:
                found = vial_log.lot_search(uow, actor, lot, product or None,
                                            state(request).ref, match)
            except (InvalidRecord, NotFound) as err:
                error = _line(err)
        elif actor.role not in ("admin", "clinician", "nurse"):
            raise AccessDenied(f"a {actor.role} may not search lots", entity="search lots")
        query = {k: v for k, v in (("lot", lot.strip()), ("product", product)) if v}
        return render(request, "lots.html", 422 if error else 200, actor=actor, found=found,
                      lot=lot, product=product, products=_products(request), error=error,
                      match=match, csv_query=urlencode({**query, "match": match}),
                      exact_query=urlencode({**query, "match": "exact"}))


@router.get("/lots.csv", include_in_schema=False)
def lots_csv(request: Request, lot: str = "", product: str = "", match: str = "all"
             ) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        found = vial_log.lot_search(uow, actor, lot, product or None, state(request).ref,
                                    match)
    name, text = vial_log.lot_csv(found)
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": attachment(name),
                             "Cache-Control": "no-store"})


def install_vial_pages(app: FastAPI) -> None:
    add_routes(app, router)
