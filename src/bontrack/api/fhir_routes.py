"""The FHIR R4 facade under /fhir: CapabilityStatement, read, search, Patient/$everything
and Bulk Data $export. Same bearer tokens, role and clinic rules and audit trail as
/api/v1; every error is an OperationOutcome in application/fhir+json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bontrack.api.outputs import ERRORS
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.config import export_directory, jobs_in_server
from bontrack.errors import RecordError
from bontrack.errors_render import Problem
from bontrack.fhir import export, search
from bontrack.fhir.bulk import OUTCOMES, Jobs, parse_request
from bontrack.fhir.capability import capability_statement
from bontrack.fhir.definitions import TYPES as DEFINITION_TYPES
from bontrack.fhir.narrative import with_narrative
from bontrack.server.deps import State, authed, bearer, state
from bontrack.server.errors import operation_outcome
from bontrack.server.routing import add_routes
from bontrack.services import fhir_access
from bontrack.services.access import Actor, require_role
from bontrack.store.uow import UnitOfWork

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"


def fhir_json(body: dict[str, Any], status: int = 200,
              headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def outcome(status: int, message: str, field: str | None = None) -> JSONResponse:
    """An OperationOutcome for an error found by the route itself (the one renderer's)."""
    return operation_outcome(Problem(status, "", message, field))


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def guarded(request: Request, work: Callable[[UnitOfWork, Actor], Response]) -> Response:
    """Run ``work`` in the request's unit of work as the signed-in user. Errors go to the
    one renderer (bontrack.server.errors): an OperationOutcome under /fhir, refusals
    audited like in /api/v1."""
    with authed(request, bearer(request)) as (uow, actor):
        return work(uow, actor)


_OUTCOME = {"type": "object", "required": ["resourceType", "issue"],
            "properties": {"resourceType": {"const": "OperationOutcome"},
                           "issue": {"type": "array", "minItems": 1}}}
_RESOURCE = {"type": "object", "required": ["resourceType"],
             "properties": {"resourceType": {"type": "string"}}}


def _fhir_doc(*success: int, body: dict[str, Any] | None = None,
              media: str = FHIR_JSON) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a FHIR route: its answers are FHIR JSON (an
    OperationOutcome on every error), not the REST API's problem+json."""
    out: dict[int | str, dict[str, Any]] = {
        code: {"description": "FHIR resource" if code != 202 else "Accepted",
               "content": {media: {"schema": body or _RESOURCE}}} for code in success}
    for code in (400, 401, 403, 404, 405, 409, 412, 413, 422, 429, 500, 503):
        out[code] = {"description": "OperationOutcome",
                     "content": {FHIR_JSON: {"schema": _OUTCOME}}}
    return out


def export_parameters(query: list[tuple[str, str]], body: bytes) -> list[tuple[str, str]]:
    """The $export parameters: the query's, then a POSTed Parameters resource's. Read after
    the caller is known (an anonymous POST is 401, whatever it carries); a body that is not
    a Parameters resource is a 400 naming ``parameter``, never a 500 (issue 15)."""
    params = list(query)
    if not body.strip():
        return params
    try:
        doc = json.loads(body)
    except ValueError:
        raise RecordError("the body must be a FHIR Parameters resource in JSON",
                          field="parameter") from None
    items = doc.get("parameter", []) if isinstance(doc, dict) else None
    if not isinstance(items, list) or not all(isinstance(p, dict) for p in items):
        raise RecordError("parameter: expected a list of {name, value[x]} objects",
                          field="parameter")
    for p in items:
        value = next((v for k, v in p.items() if k.startswith("value")), "")
        params.append((str(p.get("name", "")), str(value)))
    return params


router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

@router.get("/fhir/metadata", tags=["fhir"], responses=_fhir_doc(200))
def metadata(request: Request) -> Response:
    return fhir_json(with_narrative(capability_statement(base_url(request))))

@router.get("/fhir/Patient/{patient_id}/$everything", tags=["fhir"],
         responses=_fhir_doc(200))
def everything(patient_id: str, request: Request) -> Response:
    def work(uow: UnitOfWork, actor: Actor) -> Response:
        found = fhir_access.everything(uow, actor, state(request).ref, patient_id)
        return fhir_json(export.bundle(found, "searchset", base_url(request),
                                       datetime.now(UTC).isoformat(), total=len(found)))

    return guarded(request, work)

def lenient(request: Request) -> bool:
    """``Prefer: handling=lenient`` (beside ``respond-async`` or alone)."""
    return "handling=lenient" in request.headers.get("prefer", "").replace(" ", "").lower()


def kick_off(request: Request, body: bytes, group_id: str | None = None) -> Response:
    def work(uow: UnitOfWork, actor: Actor) -> Response:
        require_role(actor, ("admin", "clinician"), "start a bulk export")
        params = export_parameters(list(request.query_params.multi_items()), body)
        asked = parse_request(params, lenient(request))
        job = fhir_access.start_export(uow, actor, request.app.state.fhir_jobs, asked.types,
                                       str(request.url), asked, group_id)
        return Response(status_code=202, headers={
            "Content-Location": f"{base_url(request)}/$export-status/{job.id}"})

    return guarded(request, work)

async def bulk_export(request: Request) -> Response:
    body = await request.body() if request.method == "POST" else b""
    return await run_in_threadpool(kick_off, request, body)

async def group_export(group_id: str, request: Request) -> Response:
    body = await request.body() if request.method == "POST" else b""
    return await run_in_threadpool(kick_off, request, body, group_id)

# One route per method and level, each with its own operation id (a route serving GET
# and POST would give both operations the same id in the OpenAPI document).
accepted = {**_fhir_doc(), 202: {
    "description": "Accepted: poll the Content-Location for status"}}
for level, path, endpoint in (("system", "/fhir/$export", bulk_export),
                              ("patient", "/fhir/Patient/$export", bulk_export),
                              ("group", "/fhir/Group/{group_id}/$export", group_export)):
    for method in ("GET", "POST"):
        name = f"bulk_export_{level}_{method.lower()}"
        router.add_api_route(path, endpoint, methods=[method], tags=["fhir"], name=name,
                          operation_id=name, responses=accepted,
                          summary=f"Bulk Data $export ({level} level, {method})")

@router.get("/fhir/Group/{group_id}", tags=["fhir"], responses=_fhir_doc(200))
def read_group(group_id: str, request: Request) -> Response:
    """A clinic as a Group of its patients (staff of that clinic; others 404)."""
    def work(uow: UnitOfWork, actor: Actor) -> Response:
        return fhir_json(fhir_access.read_group(uow, actor, group_id))

    return guarded(request, work)

@router.get("/fhir/$export-status/{job_id}", tags=["fhir"],
         responses=_fhir_doc(200, 202, body={"type": "object"}))
def export_status(job_id: str, request: Request) -> Response:
    def work(uow: UnitOfWork, actor: Actor) -> Response:
        job = fhir_access.export_status(uow, actor, request.app.state.fhir_jobs, job_id)
        if job.pending:
            return Response(status_code=202, headers={"X-Progress": job.progress,
                                                      "Retry-After": "1"})
        if job.state == "failed":  # a general message: the cause is in the log
            return outcome(500, job.error)
        base = base_url(request)
        # the IG: no output item for a type with no resources; what a lenient kick-off
        # ignored is reported in the error file
        errors = ([{"type": OUTCOMES, "url": f"{base}/$export-files/{job.id}/{OUTCOMES}.ndjson",
                    "count": len(job.ignored)}] if job.ignored else [])
        return JSONResponse({
            "transactionTime": job.transaction_time, "request": job.request,
            "requiresAccessToken": True,
            "output": [{"type": t, "url": f"{base}/$export-files/{job.id}/{t}.ndjson",
                        "count": n} for t, n in job.counts.items() if n],
            "error": errors})

    return guarded(request, work)

@router.delete("/fhir/$export-status/{job_id}", tags=["fhir"],
            responses=_fhir_doc(202, body={"type": "object"}))
def export_cancel(job_id: str, request: Request) -> Response:
    def work(uow: UnitOfWork, actor: Actor) -> Response:
        fhir_access.cancel_export(uow, actor, request.app.state.fhir_jobs, job_id)
        return Response(status_code=202)

    return guarded(request, work)

@router.get("/fhir/$export-files/{job_id}/{name}", tags=["fhir"],
         responses=_fhir_doc(200, body={"type": "string"}, media=NDJSON))
def export_file(job_id: str, name: str, request: Request) -> Response:
    def work(uow: UnitOfWork, actor: Actor) -> Response:
        path = fhir_access.export_file(uow, actor, request.app.state.fhir_jobs, job_id,
                                       name)
        return FileResponse(path, media_type=NDJSON)

    return guarded(request, work)

def definition_search(kind: str) -> Callable[[Request], Response]:
    def search_definitions(request: Request) -> Response:
        """Published definitions of this type (no sign-in: no patient data), by ``url``,
        ``_id``, ``name`` or ``status``."""
        found, ignored = fhir_access.search_definitions(
            state(request).ref, kind, list(request.query_params.multi_items()),
            lenient(request))
        base = base_url(request)
        q = urlencode([(k, v) for k, v in request.query_params.multi_items()
                       if k not in ignored])
        body = export.bundle(found, "searchset", base, datetime.now(UTC).isoformat(),
                             len(found), [{"relation": "self",
                                           "url": f"{base}/{kind}" + (f"?{q}" if q else "")}])
        if ignored:
            body.setdefault("entry", []).append({"search": {"mode": "outcome"}, "resource": {
                "resourceType": "OperationOutcome", "issue": [{
                    "severity": "warning", "code": "not-supported",
                    "diagnostics": f"ignored: {', '.join(ignored)}"}]}})
        return fhir_json(body)

    return search_definitions


def definition_read(kind: str) -> Callable[[str, Request], Response]:
    def read_definition(definition_id: str, request: Request) -> Response:
        """A published definition by id (no sign-in: no patient data)."""
        found = fhir_access.read_definition(state(request).ref, kind, definition_id)
        answer = fhir_json(found)
        answer.headers["ETag"] = f'W/"{found.get("version", "1")}"'
        return answer

    return read_definition


# bontrack's published definitions (StructureDefinitions of its extensions, CodeSystems,
# ValueSets, NamingSystems): read and search, before the generic type routes below.
for _kind in DEFINITION_TYPES:
    router.add_api_route(f"/fhir/{_kind}", definition_search(_kind), methods=["GET"],
                         tags=["fhir"], name=f"search_{_kind}", operation_id=f"search_{_kind}",
                         responses=_fhir_doc(200), summary=f"Search {_kind} (published)")
    router.add_api_route(f"/fhir/{_kind}/{{definition_id}}", definition_read(_kind),
                         methods=["GET"], tags=["fhir"], name=f"read_{_kind}",
                         operation_id=f"read_{_kind}", responses=_fhir_doc(200),
                         summary=f"Read a {_kind} (published)")

@router.get("/fhir/{kind}", tags=["fhir"], responses=_fhir_doc(200))
def search_type(kind: str, request: Request) -> Response:
    if kind not in search.TYPES:
        return outcome(404, f"resource type {kind!r} is not served here; see /fhir/"
                       "metadata")

    lenient = "handling=lenient" in request.headers.get("prefer", "").replace(" ", "")

    def work(uow: UnitOfWork, actor: Actor) -> Response:
        page = fhir_access.search_page(uow, actor, state(request).ref, kind,
                                       list(request.query_params.multi_items()), lenient)
        base = base_url(request)

        def link(relation: str, offset: int) -> dict[str, str]:
            paging = [] if page.summary_count else [("_count", str(page.count)),
                                                     ("_offset", str(offset))]
            q = urlencode([*page.applied, *paging])
            return {"relation": relation, "url": f"{base}/{kind}?{q}"}

        links = [link("self", page.offset)]
        if page.offset + page.count < page.total and page.count > 0:
            links.append(link("next", page.offset + page.count))
        if page.offset > 0 and not page.summary_count:
            links.append(link("previous", max(0, page.offset - page.count)))
        body = export.bundle(page.resources, "searchset", base,
                             datetime.now(UTC).isoformat(), page.total, links)
        for r in page.included or []:  # _include / _revinclude
            body["entry"].append({"fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                                  "resource": r, "search": {"mode": "include"}})
        if page.ignored:  # Prefer: handling=lenient: say what was not applied
            body.setdefault("entry", []).append({"search": {"mode": "outcome"}, "resource": {
                "resourceType": "OperationOutcome", "issue": [{
                    "severity": "warning", "code": "not-supported",
                    "diagnostics": f"ignored: {', '.join(page.ignored)}"}]}})
        return fhir_json(body)

    return guarded(request, work)

def not_modified(request: Request, version: str, changed: datetime) -> bool:
    """A conditional read (RFC 9110 13.1.2, 13.1.3): ``If-None-Match`` naming the version
    (weak comparison, or ``*``), else ``If-Modified-Since`` not before the last change
    (whole seconds, as HTTP dates are)."""
    none_match = request.headers.get("if-none-match")
    if none_match is not None:
        tags = [t.strip().removeprefix("W/").strip('"') for t in none_match.split(",")]
        return "*" in tags or version in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # an unreadable date is ignored (RFC 9110 13.1.3)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return changed.replace(microsecond=0) <= when


@router.get("/fhir/{kind}/{rid}", tags=["fhir"], responses={**_fhir_doc(200), 304: {
    "description": "Not Modified: If-None-Match named the version, or If-Modified-Since "
    "is not before the last change"}})
def read(kind: str, rid: str, request: Request) -> Response:
    if kind not in search.READABLE:
        return outcome(404, f"resource type {kind!r} is not served here; see /fhir/"
                       "metadata")

    def work(uow: UnitOfWork, actor: Actor) -> Response:
        resource = fhir_access.read_resource(uow, actor, state(request).ref, kind, rid)
        meta = resource["meta"]
        changed = datetime.fromisoformat(meta["lastUpdated"])
        headers = {"ETag": f'W/"{meta["versionId"]}"',
                   "Last-Modified": format_datetime(changed.astimezone(UTC), usegmt=True)}
        if not_modified(request, meta["versionId"], changed):
            return Response(status_code=304, headers=headers)
        answer = fhir_json(resource)
        answer.headers.update(headers)
        return answer

    return guarded(request, work)

@router.api_route("/fhir/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
               include_in_schema=False)
def unknown(rest: str, request: Request) -> Response:
    kind, _, rid = rest.partition("/")
    if request.method != "GET" and ((kind in (*search.READABLE, "Group", *DEFINITION_TYPES)
                                     and "/" not in rid)
                                    or kind == "" or kind == "metadata"):
        # The facade is read-only: a write to a type or a resource is a method this
        # resource does not allow (405 with Allow), not an unknown path.
        answer = outcome(405, f"{request.method} /fhir/{rest}: the FHIR facade is read-only "
                         "(import a Bundle with POST /api/v1/fhir/import or `bontrack fhir "
                         "import`); see /fhir/metadata")
        answer.headers["Allow"] = "GET"
        return answer
    return outcome(404, f"/fhir/{rest} is not an interaction this server offers; see "
                   "/fhir/metadata")


def install_fhir(app: FastAPI) -> None:
    """The /fhir routes, and the app's view of the Bulk Data export jobs: the shared export
    folder, and (unless BONTRACK_JOBS_IN_SERVER=off) a worker thread, started with the app
    so that jobs left by a stopped server are taken up again."""
    st: State = app.state.bontrack
    jobs = Jobs(export_directory(), st.db, st.ref, run_here=jobs_in_server())
    app.state.fhir_jobs = jobs
    app.router.on_startup.append(jobs.runner)
    app.router.on_shutdown.append(jobs.stop)
    add_routes(app, router)
