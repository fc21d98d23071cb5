"""The HTTP side of the one error renderer: every error of every request is mapped once
(``bontrack.errors_render.describe``) and rendered by where it happened — an OperationOutcome
under /fhir, an HTML page on the web pages (when the web is installed: ``set_page_renderer``),
problem+json everywhere else (/api, /health, /ready). Refused requests (AccessDenied) are
audited here, once, whatever renders them."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bontrack.errors import AccessDenied, BontrackError
from bontrack.errors_render import Problem, describe
from bontrack.server.deps import audit_denial

PROBLEM = "application/problem+json"
FHIR_JSON = "application/fhir+json"
ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
              409: "conflict", 412: "conflict", 422: "invalid", 429: "throttled"}
LOG = logging.getLogger("bontrack.api")

#: A web page for a problem: (request, the problem, the exception) -> response.
PageRenderer = Callable[[Request, Problem, BaseException], Response]


#: SQLite's words for a database another connection holds, or one it cannot reach now.
SQLITE_BUSY = ("locked", "busy", "unable to open", "disk i/o")
#: PostgreSQL SQLSTATE classes worth a retry: connection (08), transaction rollback
#: (40: serialization failure, deadlock), lock not available (55P03), operator
#: intervention (57: shutdown, statement timeout), insufficient resources (53).
PG_BUSY = ("08", "40", "55P03", "57", "53")


def is_busy(exc: BaseException) -> bool:
    """Whether an OperationalError means the database is busy or out of reach (503 with
    Retry-After) rather than a query it refuses, such as SQLite's "LIKE or GLOB pattern too
    complex" or "Expression tree is too large" (issue 17, F6: those were told to retry)."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, sqlite3.Error):
        return any(word in str(orig).lower() for word in SQLITE_BUSY)
    state = getattr(orig, "sqlstate", None)
    return state is None or str(state).startswith(PG_BUSY)


def problem(status: int, title: str, detail: str, field: str | None = None,
            **extra: Any) -> JSONResponse:
    """An RFC 9457 problem+json answer."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}
    if field is not None:
        body["field"] = field
        body["errors"] = [{"field": field, "reason": detail}]
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def problem_json(p: Problem) -> JSONResponse:
    resp = problem(p.status, p.title, p.detail, p.field, **p.extra)
    resp.headers.update(p.headers)
    return resp


def operation_outcome(p: Problem) -> JSONResponse:
    """The FHIR facade's error: an OperationOutcome in application/fhir+json."""
    issue: dict[str, Any] = {"severity": "error",
                             "code": ISSUE_CODE.get(p.status, "exception"),
                             "diagnostics": p.detail}
    if p.field:
        issue["expression"] = [p.field]
    resp = JSONResponse({"resourceType": "OperationOutcome", "issue": [issue]},
                        status_code=p.status, media_type=FHIR_JSON)
    if p.status == 401:
        resp.headers["WWW-Authenticate"] = "Bearer"
    return resp


def set_page_renderer(app: FastAPI, page: PageRenderer) -> None:
    """The web pages answer errors with a page (installed by bontrack.web)."""
    app.state.error_page = page


def render(request: Request, p: Problem, exc: BaseException) -> Response:
    """The error as the place it happened speaks: /fhir, the web pages, or problem+json."""
    path = request.url.path
    if path == "/fhir" or path.startswith("/fhir/"):
        return operation_outcome(p)
    page: PageRenderer | None = getattr(request.app.state, "error_page", None)
    if page is not None and not path.startswith(("/api/", "/cds-services")) and path not in (
            "/health", "/ready"):
        return page(request, p, exc)
    return problem_json(p)


def install_error_handlers(app: FastAPI) -> None:
    async def bontrack_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, AccessDenied):
            audit_denial(request, exc)
        return render(request, describe(exc), exc)

    async def invalid_form(request: Request, exc: Exception) -> Response:
        """A value a schema refused outside FastAPI's own validation (a web form)."""
        return render(request, describe(exc), exc)

    async def invalid(request: Request, exc: Exception) -> Response:
        """FastAPI's own validation (a body, a query or a path id such as a cycle id past
        what the database holds): 422 naming the field, spoken by the door it came in."""
        assert isinstance(exc, RequestValidationError)
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            if loc and loc[0] in ("body", "query", "path", "header"):
                loc = loc[1:]
            errors.append({"field": ".".join(loc) or "(body)", "reason": e.get("msg", "")})
        first = errors[0] if errors else {"field": "(body)", "reason": "invalid"}
        return render(request, Problem(422, "Invalid request",
                                       f"{first['field']}: {first['reason']}", first["field"],
                                       {"errors": errors}), exc)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        # bontrack's own (BodyTooLarge, DuplicateKeyInBody) carry a title and the field
        title = getattr(exc, "title", None) or str(exc.detail)
        return problem(exc.status_code, title, str(exc.detail), getattr(exc, "field", None))

    async def db_busy(request: Request, exc: Exception) -> JSONResponse:
        if not is_busy(exc):  # a query the database refused is no reason to retry
            return await crash(request, exc)
        resp = problem(503, "Database busy", "the database is busy; try again")
        resp.headers["Retry-After"] = "1"
        return resp

    async def crash(request: Request, exc: Exception) -> JSONResponse:
        """The last resort: the details go to the server log under an incident id; the
        client gets only the id. This answer is built outside the header middleware, so it
        carries the security headers itself."""
        incident = secrets.token_hex(6)
        LOG.error("incident %s: %s %s", incident, request.method, request.url.path,
                  exc_info=exc)
        resp = problem(500, "Internal error",
                       f"something went wrong on the server (incident {incident}); "
                       "please report it")
        resp.headers.update({"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                             "Content-Security-Policy": "default-src 'none'; "
                             "frame-ancestors 'none'", "Cache-Control": "no-store"})
        return resp

    handlers: list[tuple[type[Exception], Callable[[Request, Exception],
                                                        Awaitable[Response]]]] = [
        (BontrackError, bontrack_error), (ValidationError, invalid_form),
        (RequestValidationError, invalid), (StarletteHTTPException, http_error),
        (OperationalError, db_busy), (Exception, crash)]
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)
