"""The REST API under /api/v1: thin routes that call the use cases in one transaction each.

Every error is RFC 9457 problem+json naming the field; an answer 2xx is sent only after the
transaction committed. Single records carry an ETag (their version); changes need If-Match
(or a ``version`` field), so two clinicians never silently overwrite each other.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from bontrack import __version__
from bontrack.api.analytics_routes import install_analytics_routes
from bontrack.api.fhir_routes import install_fhir
from bontrack.api.limits import BodyLimit
from bontrack.api.outputs import (
    ERRORS,
    ClinicReportsOut,
    ConditionOut,
    CycleOut,
    CycleWithRevisionsOut,
    DiaryOut,
    GoalOut,
    HealthOut,
    Out,
    OutcomeOut,
    PatientOut,
    ReadyOut,
    SideEffectOut,
    TimelineOut,
    TokenOut,
    TriageOut,
    WeightOut,
    answers,
    page_of,
)
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.errors import (
    VersionMismatch,
)
from bontrack.reference import Reference, default_reference
from bontrack.server.deps import State, TokenDep, authed, state, unit_of_work
from bontrack.server.errors import install_error_handlers, problem
from bontrack.services import accounts, check_document, cycles, records, timeline
from bontrack.services.schemas import (
    AmendIn,
    ConditionIn,
    CycleIn,
    DiaryIn,
    EnteredInErrorIn,
    GoalIn,
    GoalScoreIn,
    OutcomeIn,
    PasswordChangeIn,
    PatientIn,
    PatientPatch,
    SideEffectIn,
    SignIn,
    TokenIn,
    TriageIn,
    WeightIn,
)
from bontrack.services.triage import triage_text
from bontrack.services.views import (
    condition_view,
    cycle_view,
    diary_view,
    goal_view,
    outcome_view,
    patient_view,
    revision_views,
    side_effect_view,
    weight_view,
)
from bontrack.store import readiness
from bontrack.store.uow import Database

MAX_BODY = 1_000_000
LOG = logging.getLogger("bontrack.api")


Limit = Annotated[int, Query(ge=1, le=records.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def version_of(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    raw = if_match.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not raw.isdigit():
        raise VersionMismatch(f"If-Match must be an ETag this API gave, got {if_match!r}",
                              field="If-Match")
    return int(raw)


def one(body: dict[str, Any], status: int = 200) -> JSONResponse:
    headers = {"ETag": f'"{body["version"]}"'} if "version" in body else {}
    return JSONResponse(body, status_code=status, headers=headers)


def page(items: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if offset + limit < total else None}


def create_app(db_url: str, ref: Reference | None = None, database: Database | None = None
               ) -> FastAPI:
    """The API on ``db_url`` (or on an already open ``database``, sharing its pool)."""
    app = FastAPI(
        title="bontrack API",
        version=__version__,
        description="Botulinum toxin therapy records: patients, cycles with the plan check, "
        "outcomes, goals, side effects, diary. Errors are RFC 9457 problem+json.",
        responses=ERRORS,
        docs_url=None,  # FastAPI's pages load from a CDN; bontrack.web.api_docs serves
        redoc_url=None,  # /docs and /redoc from local copies
    )
    app.router.route_class = StrictJSONRoute
    app.state.bontrack = State(db=database or Database.at(db_url), ref=ref or default_reference())
    install_errors(app)
    install_routes(app)
    install_analytics_routes(app)
    install_fhir(app)
    return app


def install_errors(app: FastAPI) -> None:
    """The body limit, and every error through the one renderer (bontrack.server.errors)."""
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    install_error_handlers(app)


def install_routes(app: FastAPI) -> None:
    v1 = "/api/v1"

    @app.get("/health", tags=["operations"], responses=answers(HealthOut))
    async def health() -> dict[str, str]:
        """Liveness: the process answers. Touches no database and runs on the event loop
        itself, so it answers at once even while every worker thread is busy."""
        return {"status": "ok", "version": __version__}

    @app.get("/ready", tags=["operations"], responses=answers(ReadyOut))
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

    @app.post(f"{v1}/auth/token", tags=["auth"], responses=answers(TokenOut))
    def token(body: TokenIn, request: Request) -> JSONResponse:
        address = request.client.host if request.client else "unknown"
        with unit_of_work(request) as uow:
            tok, user = accounts.sign_in(uow, body.username, body.password, address)
            out = {"access_token": tok, "token_type": "bearer", "role": user.role,
                   "user_id": user.id, "patient_id": user.patient_id}
        return JSONResponse(out)

    @app.post(f"{v1}/auth/password", tags=["auth"], status_code=204)
    def change_password(body: PasswordChangeIn, request: Request) -> Response:
        """Change your own password with the current one (no token needed): how a password
        set by an administrator is replaced before the first sign-in. Ends the account's
        sessions; sign in again with POST /api/v1/auth/token."""
        address = request.client.host if request.client else "unknown"
        with unit_of_work(request) as uow:
            accounts.change_password(uow, body.username, body.current_password,
                                     body.new_password, address)
        return Response(status_code=204)

    @app.post(f"{v1}/auth/logout", tags=["auth"], status_code=204)
    def logout(request: Request, token: TokenDep) -> Response:
        with authed(request, token) as (uow, _actor):
            accounts.sign_out(uow, token)
        return Response(status_code=204)

    @app.post(f"{v1}/plan-check", tags=["plan check"])
    def plan_check(plan: dict[str, Any], request: Request, token: TokenDep) -> JSONResponse:
        """The plan-check contract: the plan document in, the result document out."""
        with unit_of_work(request) as uow:
            accounts.actor_for_token(uow, token)
        _, doc = check_document(plan, where="plan", ref=state(request).ref)
        return JSONResponse(doc)

    @app.post(f"{v1}/triage", tags=["triage"], responses=answers(TriageOut))
    def triage_report(body: TriageIn, request: Request, token: TokenDep) -> JSONResponse:
        """The triage contract (docs/triage.md): what a patient wrote in, urgent / unclear /
        not urgent out, with the red flags, the words that matched and the advice."""
        with unit_of_work(request) as uow:
            accounts.actor_for_token(uow, token)
        return JSONResponse(triage_text(body.text, state(request).ref))

    @app.get(f"{v1}/clinic/reports", tags=["triage"], responses=answers(ClinicReportsOut))
    def clinic_reports(request: Request, token: TokenDep) -> JSONResponse:
        """The clinic's list of patients' reports: side effects and diary entries with a
        red flag or an unclear mention; urgent first, then unclear, newest first within."""
        with authed(request, token) as (uow, actor):
            rows = records.clinic_reports(uow, actor)
        return JSONResponse({"items": [{**r, "reported_at": r["reported_at"].isoformat()}
                                       for r in rows]})

    # -- patients ------------------------------------------------------------------------
    @app.post(f"{v1}/patients", tags=["patients"], status_code=201,
               responses=answers(PatientOut, 201))
    def create_patient(body: PatientIn, request: Request, token: TokenDep) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            p = records.create_patient(uow, actor, body, state(request).ref)
            out = patient_view(p)
        return one(out, 201)

    @app.get(f"{v1}/patients", tags=["patients"], responses=answers(page_of(PatientOut)))
    def search_patients(request: Request, token: TokenDep, q: str | None = None,
                        limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        with authed(request, token) as (uow, actor):
            rows, total = records.search_patients(uow, actor, q, limit, offset)
            return page([patient_view(p) for p in rows], total, limit, offset)

    @app.get(f"{v1}/patients/{{patient_id}}", tags=["patients"],
             responses=answers(PatientOut))
    def read_patient(patient_id: int, request: Request, token: TokenDep) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = patient_view(records.get_patient(uow, actor, patient_id))
        return one(out)

    @app.patch(f"{v1}/patients/{{patient_id}}", tags=["patients"],
               responses=answers(PatientOut))
    def update_patient(patient_id: int, body: PatientPatch, request: Request, token: TokenDep,
                       if_match: IfMatch = None) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            p = records.update_patient(uow, actor, patient_id, body, version_of(if_match),
                                       state(request).ref)
            out = patient_view(p)
        return one(out)

    @app.post(f"{v1}/patients/{{patient_id}}/weights", tags=["patients"], status_code=201,
              responses=answers(WeightOut, 201))
    def add_weight(patient_id: int, body: WeightIn, request: Request, token: TokenDep
                   ) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = weight_view(records.add_weight(uow, actor, patient_id, body))
        return JSONResponse(out, status_code=201)

    @app.get(f"{v1}/patients/{{patient_id}}/timeline", tags=["patients"],
             responses=answers(TimelineOut))
    def patient_timeline(patient_id: int, request: Request, token: TokenDep) -> Response:
        with authed(request, token) as (uow, actor):
            body = timeline.timeline_json(uow, actor, patient_id)
        return Response(body, media_type="application/json")

    # -- lists and creates per patient ---------------------------------------------------
    def listing(path: str, entity: str, view: Any, tag: str, out: type[Out]) -> None:
        @app.get(f"{v1}/patients/{{patient_id}}/{path}", tags=[tag], name=f"list_{entity}",
                 responses=answers(page_of(out)))
        def _list(patient_id: int, request: Request, token: TokenDep, limit: Limit = 50,
                  offset: Offset = 0) -> dict[str, Any]:
            with authed(request, token) as (uow, actor):
                rows, total = records.list_for_patient(uow, actor, patient_id, entity,
                                                       limit, offset)
                return page([view(r) for r in rows], total, limit, offset)

    listing("conditions", "condition", condition_view, "conditions", ConditionOut)
    listing("outcomes", "outcome", outcome_view, "outcomes", OutcomeOut)
    listing("goals", "goal", goal_view, "goals", GoalOut)
    listing("side-effects", "side_effect", side_effect_view, "side effects",
            SideEffectOut)
    listing("diary", "diary", diary_view, "diary", DiaryOut)

    @app.post(f"{v1}/patients/{{patient_id}}/conditions", tags=["conditions"], status_code=201,
              responses=answers(ConditionOut, 201))
    def add_condition(patient_id: int, body: ConditionIn, request: Request, token: TokenDep
                      ) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = condition_view(records.add_condition(uow, actor, patient_id, body,
                                                       state(request).ref))
        return JSONResponse(out, status_code=201)

    @app.post(f"{v1}/patients/{{patient_id}}/outcomes", tags=["outcomes"], status_code=201,
              responses=answers(OutcomeOut, 201))
    def add_outcome(patient_id: int, body: OutcomeIn, request: Request, token: TokenDep
                    ) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = outcome_view(records.add_outcome(uow, actor, patient_id, body,
                                                   state(request).ref))
        return JSONResponse(out, status_code=201)

    @app.post(f"{v1}/patients/{{patient_id}}/goals", tags=["goals"], status_code=201,
              responses=answers(GoalOut, 201))
    def add_goal(patient_id: int, body: GoalIn, request: Request, token: TokenDep
                 ) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = goal_view(records.add_goal(uow, actor, patient_id, body))
        return one(out, 201)

    @app.post(f"{v1}/goals/{{goal_id}}/score", tags=["goals"], responses=answers(GoalOut))
    def score_goal(goal_id: int, body: GoalScoreIn, request: Request, token: TokenDep,
                   if_match: IfMatch = None) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = goal_view(records.score_goal(uow, actor, goal_id, body, version_of(if_match)))
        return one(out)

    @app.post(f"{v1}/patients/{{patient_id}}/side-effects", tags=["side effects"],
              status_code=201, responses=answers(SideEffectOut, 201))
    def add_side_effect(patient_id: int, body: SideEffectIn, request: Request, token: TokenDep
                        ) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = side_effect_view(records.add_side_effect(uow, actor, patient_id, body,
                                                           state(request).ref))
        return JSONResponse(out, status_code=201)

    @app.post(f"{v1}/patients/{{patient_id}}/diary", tags=["diary"], status_code=201,
              responses=answers(DiaryOut, 201))
    def add_diary(patient_id: int, body: DiaryIn, request: Request, token: TokenDep
                  ) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            out = diary_view(records.add_diary(uow, actor, patient_id, body,
                                               state(request).ref))
        return JSONResponse(out, status_code=201)

    # -- cycles --------------------------------------------------------------------------
    @app.post(f"{v1}/patients/{{patient_id}}/cycles", tags=["cycles"], status_code=201,
              responses=answers(CycleOut, 201))
    def record_cycle(patient_id: int, body: CycleIn, request: Request, token: TokenDep
                     ) -> JSONResponse:
        """Record a cycle: the plan check runs on what is recorded, with the history from
        the store. Stop findings need overrides (code + reason) given by a clinician."""
        with authed(request, token) as (uow, actor):
            c = cycles.record_cycle(uow, actor, patient_id, body, state(request).ref)
            out = cycle_view(c)
        return one(out, 201)

    @app.get(f"{v1}/patients/{{patient_id}}/cycles", tags=["cycles"],
             responses=answers(page_of(CycleOut)))
    def list_cycles(patient_id: int, request: Request, token: TokenDep, limit: Limit = 50,
                    offset: Offset = 0) -> dict[str, Any]:
        with authed(request, token) as (uow, actor):
            rows, total = cycles.list_cycles(uow, actor, patient_id, limit, offset)
            return page([cycle_view(c) for c in rows], total, limit, offset)

    @app.get(f"{v1}/cycles/{{cycle_id}}", tags=["cycles"],
             responses=answers(CycleWithRevisionsOut))
    def read_cycle(cycle_id: int, request: Request, token: TokenDep) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            c = cycles.get_cycle(uow, actor, cycle_id)
            out = {**cycle_view(c), "revisions": revision_views(c)}
        return one(out)

    @app.put(f"{v1}/cycles/{{cycle_id}}", tags=["cycles"], responses=answers(CycleOut))
    def update_cycle(cycle_id: int, body: AmendIn, request: Request, token: TokenDep,
                     if_match: IfMatch = None) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            c = cycles.update_draft(uow, actor, cycle_id, body, version_of(if_match),
                                    state(request).ref)
            out = cycle_view(c)
        return one(out)

    @app.post(f"{v1}/cycles/{{cycle_id}}/sign", tags=["cycles"], responses=answers(CycleOut))
    def sign_cycle(cycle_id: int, request: Request, token: TokenDep, body: SignIn | None = None,
                   if_match: IfMatch = None) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            c = cycles.sign_cycle(uow, actor, cycle_id, body or SignIn(), version_of(if_match))
            out = cycle_view(c)
        return one(out)

    @app.post(f"{v1}/cycles/{{cycle_id}}/amend", tags=["cycles"], responses=answers(CycleOut))
    def amend_cycle(cycle_id: int, body: AmendIn, request: Request, token: TokenDep,
                    if_match: IfMatch = None) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            c = cycles.amend_cycle(uow, actor, cycle_id, body, version_of(if_match),
                                   state(request).ref)
            out = cycle_view(c)
        return one(out)

    @app.post(f"{v1}/cycles/{{cycle_id}}/entered-in-error", tags=["cycles"],
              responses=answers(CycleOut))
    def entered_in_error(cycle_id: int, body: EnteredInErrorIn, request: Request,
                         token: TokenDep, if_match: IfMatch = None) -> JSONResponse:
        with authed(request, token) as (uow, actor):
            c = cycles.enter_in_error(uow, actor, cycle_id, body, version_of(if_match))
            out = cycle_view(c)
        return one(out)
