"""Operations (liveness, readiness), sign-in, password change and sign-out, and the two
checks that need no record: the plan-check and triage contracts; the clinic's list of
patients' reports."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bontrack import __version__
from bontrack.api.common import V1 as v1
from bontrack.api.outputs import (
    ERRORS,
    ClinicReportsOut,
    HealthOut,
    ReadyOut,
    TokenOut,
    TriageOut,
    answers,
)
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.server.deps import TokenDep, authed, client_address, state, unit_of_work
from bontrack.server.errors import problem
from bontrack.services import accounts, check_document, records
from bontrack.services.schemas import (
    AdminPasswordIn,
    PasswordChangeIn,
    TokenIn,
    TriageIn,
)
from bontrack.services.triage import triage_text
from bontrack.store import readiness

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

LOG = logging.getLogger("bontrack.api")



@router.get("/health", tags=["operations"], responses=answers(HealthOut))
async def health() -> dict[str, str]:
    """Liveness: the process answers. Touches no database and runs on the event loop
    itself, so it answers at once even while every worker thread is busy."""
    return {"status": "ok", "version": __version__}

@router.get("/ready", tags=["operations"], responses=answers(ReadyOut))
def ready(request: Request) -> JSONResponse:
    """Readiness: the database is reachable and writable and its schema is at the
    newest migration. 503 problem+json naming what is wrong otherwise."""
    found = readiness.check(state(request).db.engine)
    if not found.ready:
        LOG.warning("not ready: %s", found.reason)
        resp = problem(503, "Not ready", found.reason, revision=found.revision,
                       head=found.head)
        resp.headers["Retry-After"] = "5"
        resp.headers["Cache-Control"] = "no-store"
        return resp
    return JSONResponse({"status": "ready", "version": __version__,
                         "database": state(request).db.dialect,
                         "revision": found.revision},
                        headers={"Cache-Control": "no-store"})

@router.post(f"{v1}/auth/token", tags=["auth"], responses=answers(TokenOut))
def token(body: TokenIn, request: Request) -> JSONResponse:
    """Sign in: username and password, plus ``totp`` or ``recovery_code`` for an account
    with two-step sign-in. Every refused password answers the same 401 (docs/security.md,
    "Sign-in"); a missing or wrong code answers 401 naming the field; an account that must
    set up two-step sign-in and has not answers 403 saying where."""
    with unit_of_work(request) as uow:
        tok, user = accounts.sign_in(uow, body.username, body.password,
                                     client_address(request), body.totp, body.recovery_code)
        out = {"access_token": tok, "token_type": "bearer", "role": user.role,
               "user_id": user.id, "patient_id": user.patient_id}
    return JSONResponse(out)

@router.post(f"{v1}/auth/password", tags=["auth"], status_code=204)
def change_password(body: PasswordChangeIn, request: Request) -> Response:
    """Change your own password with the current one (no token needed): how a password
    set by an administrator is replaced before the first sign-in. Ends the account's
    sessions; sign in again with POST /api/v1/auth/token."""
    with unit_of_work(request) as uow:
        accounts.change_password(uow, body.username, body.current_password,
                                 body.new_password, client_address(request), body.totp,
                                 body.recovery_code)
    return Response(status_code=204)

@router.post(f"{v1}/users/{{username}}/password", tags=["auth"], status_code=204)
def admin_reset_password(username: str, body: AdminPasswordIn, request: Request,
                         token: TokenDep) -> Response:
    """An administrator sets another account's password of the same clinic: the user must
    change it at the next sign-in; with ``reset_second_factor`` the user also sets up
    two-step sign-in again. Ends the user's sessions. Audited."""
    with authed(request, token) as (uow, actor):
        accounts.admin_set_password(uow, actor, username, body.password,
                                    body.reset_second_factor)
    return Response(status_code=204)

@router.post(f"{v1}/auth/logout", tags=["auth"], status_code=204)
def logout(request: Request, token: TokenDep) -> Response:
    with authed(request, token) as (uow, _actor):
        accounts.sign_out(uow, token)
    return Response(status_code=204)

@router.post(f"{v1}/plan-check", tags=["plan check"])
def plan_check(plan: dict[str, Any], request: Request, token: TokenDep) -> JSONResponse:
    """The plan-check contract: the plan document in, the result document out."""
    with unit_of_work(request) as uow:
        accounts.actor_for_token(uow, token)
    _, doc = check_document(plan, where="plan", ref=state(request).ref)
    return JSONResponse(doc)

@router.post(f"{v1}/triage", tags=["triage"], responses=answers(TriageOut))
def triage_report(body: TriageIn, request: Request, token: TokenDep) -> JSONResponse:
    """The triage contract (docs/triage.md): what a patient wrote in, urgent / unclear /
    not urgent out, with the red flags, the words that matched and the advice."""
    with unit_of_work(request) as uow:
        accounts.actor_for_token(uow, token)
    return JSONResponse(triage_text(body.text, state(request).ref))

@router.get(f"{v1}/clinic/reports", tags=["triage"], responses=answers(ClinicReportsOut))
def clinic_reports(request: Request, token: TokenDep) -> JSONResponse:
    """The clinic's list of patients' reports: side effects and diary entries with a
    red flag or an unclear mention; urgent first, then unclear, newest first within."""
    with authed(request, token) as (uow, actor):
        rows = records.clinic_reports(uow, actor)
    return JSONResponse({"items": [{**r, "reported_at": r["reported_at"].isoformat()}
                                   for r in rows]})
