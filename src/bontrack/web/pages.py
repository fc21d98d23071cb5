"""Web pages: sign-in, patients, the patient page. Same use cases and role rules as the API.

Sessions: the sign-in issues the same kind of token as the API, kept in a cookie that is
HttpOnly, SameSite=Strict, and Secure when served over HTTPS. Every form carries a CSRF token
that must match the CSRF cookie (double submit), the sign-in form included.

Two-step sign-in: when the password step passes for an enrolled account (or one that must
enrol), the browser gets a short-lived pending token in its own cookie instead of a session,
and goes to /login/code (a code) or /mfa/enrol (the set-up, QR code, recovery codes).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup

from bontrack.analytics import next_dates
from bontrack.errors import (
    AccessDenied,
    InvalidRecord,
    NotAuthenticated,
    PasswordChangeRequired,
)
from bontrack.server.deps import RecordId, client_address, state, unit_of_work
from bontrack.server.errors import set_page_renderer
from bontrack.server.routing import add_routes
from bontrack.services import accounts, audit, given, mfa, records, timeline, visits
from bontrack.services.cache import LRU
from bontrack.services.views import condition_view, patient_view
from bontrack.web.analytics_pages import patient_figures
from bontrack.web.charts import outcome_svg
from bontrack.web.rendering import (
    CSRF,
    HERE,
    PAGE,
    SESSION,
    check_csrf,
    error_page,
    new_csrf_token,
    render,
    secure,
    series,
    signed_in,
)
from bontrack.web.security import SVG_CSP

PENDING = "bt_pending"  # the pending second step of a sign-in (a code or the set-up)
NEXT_STEP = {"mfa": "/login/code", "enrol": "/mfa/enrol"}


def _first_page(user: Any) -> str:
    return (f"/patients/{user.patient_id}" if user.role == "patient" and user.patient_id
            else "/patients")


def _session_started(request: Request, token: str, user: Any, stage: str = "session",
                     response: Response | None = None) -> Response:
    """After a sign-in step: the session cookie (or the pending step's), a new CSRF token,
    and the next page."""
    if stage != "session":
        response = RedirectResponse(NEXT_STEP[stage], status_code=303)
        response.set_cookie(PENDING, token, httponly=True, samesite="strict",
                            secure=secure(request), path="/", max_age=600)
        response.delete_cookie(SESSION, path="/")
        return response
    response = response or RedirectResponse(_first_page(user), status_code=303)
    response.set_cookie(SESSION, token, httponly=True, samesite="strict",
                        secure=secure(request), path="/")
    response.delete_cookie(PENDING, path="/")
    # a new CSRF token with the new session
    response.set_cookie(CSRF, new_csrf_token(token), httponly=True, samesite="strict",
                        secure=secure(request), path="/")
    return response


router = APIRouter()

@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return Response(status_code=204)

@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    with unit_of_work(request) as uow:
        try:
            actor = signed_in(request, uow)
        except NotAuthenticated:
            return RedirectResponse("/login", status_code=303)
    if actor.role == "patient" and actor.patient_id:
        return RedirectResponse(f"/patients/{actor.patient_id}", status_code=303)
    return RedirectResponse("/patients", status_code=303)

@router.get("/login", include_in_schema=False)
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html")

@router.post("/login", include_in_schema=False)
def login(request: Request, username: str = Form(""), password: str = Form(""),
          csrf: str = Form("")) -> Response:
    try:
        check_csrf(request, csrf)
    except AccessDenied as err:
        return render(request, "login.html", 403, error=err.message, username=username)
    try:
        with unit_of_work(request) as uow:
            token, user, stage = accounts.start_session(
                uow, username, password, client_address(request),
                request.cookies.get(SESSION))
    except PasswordChangeRequired:
        return RedirectResponse(
            "/password?" + urlencode({"username": username, "required": "1"}),
            status_code=303)
    except NotAuthenticated as err:
        return render(request, "login.html", err.status, error=err.message,
                      username=username)
    return _session_started(request, token, user, stage)

@router.get("/login/code", include_in_schema=False)
def code_form(request: Request) -> Response:
    if not request.cookies.get(PENDING):
        return RedirectResponse("/login", status_code=303)
    return render(request, "login_code.html")

@router.post("/login/code", include_in_schema=False)
def code_step(request: Request, code: str = Form(""), csrf: str = Form("")) -> Response:
    """The second step: a code of the authenticator app, or a recovery code."""
    try:
        check_csrf(request, csrf)
    except AccessDenied as err:
        return render(request, "login_code.html", 403, error=err.message)
    pending = request.cookies.get(PENDING, "")
    try:
        with unit_of_work(request) as uow:
            token, user = accounts.finish_sign_in(uow, pending, code[:40],
                                                  client_address(request))
    except NotAuthenticated as err:
        if err.field is None:  # the pending step expired: start again
            return RedirectResponse("/login", status_code=303)
        return render(request, "login_code.html", err.status, error=err.message)
    return _session_started(request, token, user)

def _qr(uri: str) -> Markup:
    """The enrolment QR code as inline SVG: made by segno from paths alone (no text of the
    URI appears in it), so it is markup to place, not text to escape."""
    return Markup(mfa.qr_svg(uri))


@router.get("/mfa/enrol", include_in_schema=False)
def enrol_form(request: Request) -> Response:
    """The set-up of two-step sign-in: the QR code for the authenticator app, the secret
    as text for typing in, and a field for a first code."""
    try:
        with unit_of_work(request) as uow:
            username, secret, uri = accounts.enrolment(uow, request.cookies.get(PENDING, ""))
    except NotAuthenticated:
        return RedirectResponse("/login", status_code=303)
    return render(request, "mfa_enrol.html", username=username, secret=secret,
                  qr=_qr(uri))

@router.post("/mfa/enrol", include_in_schema=False)
def enrol(request: Request, code: str = Form(""), csrf: str = Form("")) -> Response:
    try:
        check_csrf(request, csrf)
    except AccessDenied as err:
        return render(request, "error.html", 403, title="Not allowed", message=err.message)
    try:
        with unit_of_work(request) as uow:
            token, user, codes = accounts.confirm_enrolment(
                uow, request.cookies.get(PENDING, ""), code[:12], client_address(request))
    except NotAuthenticated as err:
        if err.field is None:
            return RedirectResponse("/login", status_code=303)
        with unit_of_work(request) as uow:
            username, secret, uri = accounts.enrolment(uow, request.cookies.get(PENDING, ""))
        return render(request, "mfa_enrol.html", err.status, error=err.message,
                      username=username, secret=secret, qr=_qr(uri))
    page = render(request, "mfa_codes.html", codes=codes, next_page=_first_page(user))
    return _session_started(request, token, user, response=page)

@router.get("/password", include_in_schema=False)
def password_form(request: Request, username: str = "", required: str = ""
                  ) -> HTMLResponse:
    return render(request, "password.html", username=username[:80],
                  required=required == "1")

@router.post("/password", include_in_schema=False)
def password_change(request: Request, username: str = Form(""),
                    current_password: str = Form(""), new_password: str = Form(""),
                    confirm_password: str = Form(""), code: str = Form(""),
                    csrf: str = Form("")) -> Response:
    """Change your own password (the current one proves who you are), then sign in
    with the new one: the only way past a password set by an administrator."""
    def again(status: int, message: str) -> HTMLResponse:
        return render(request, "password.html", status, error=message,
                      username=username[:80])

    try:
        check_csrf(request, csrf)
    except AccessDenied as err:
        return again(403, err.message)
    if new_password != confirm_password:
        return again(422, "new password: the two entries differ")
    try:
        with unit_of_work(request) as uow:
            token, user, stage = accounts.change_password_and_start_session(
                uow, username, current_password, new_password, client_address(request),
                request.cookies.get(SESSION), code[:40])
    except InvalidRecord as err:
        return again(422, f"new password: {err.message}")
    except NotAuthenticated as err:
        return again(err.status, err.message)
    return _session_started(request, token, user, stage)

@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    token = request.cookies.get(SESSION)
    if token:
        with unit_of_work(request) as uow:
            accounts.sign_out(uow, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION, path="/")
    response.delete_cookie(PENDING, path="/")
    return response

@router.get("/patients", include_in_schema=False)
def patients(request: Request, q: str | None = None, offset: int = 0) -> Response:
    offset = max(0, min(offset, 10_000_000))
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        if actor.role == "patient":
            return RedirectResponse(f"/patients/{actor.patient_id}", status_code=303)
        found = records.search_patients(uow, actor, q, PAGE, offset)
        rows = found.rows
        # matches are counted up to 200 (issue 16): "200+" beyond that
        total: int | str = found.total if found.total_exact else f"{found.total}+"
        items = [patient_view(p) for p in rows]
        dates = _next_dates(uow, [(p.id, p.record_version) for p in rows])
        as_of = given.today()
        for p in items:
            p["due"] = given.next_due(*dates[p["id"]], as_of)
    return render(request, "patients.html", actor=actor, patients=items, total=total, q=q,
                  prev_offset=offset - PAGE if offset > 0 else None,
                  next_offset=offset + PAGE if found.more else None)

@router.get("/patients/{patient_id}/chart.svg", include_in_schema=False)
def chart(request: Request, patient_id: RecordId, scale: str, where: str = "") -> Response:
    """A chart of one outcome series, rendered once per version of the record."""
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        key = (patient_id, timeline.record_version(uow, actor, patient_id), scale, where)
        body = CHARTS.get(key)
        if body is None:
            t = timeline.timeline(uow, actor, patient_id, audit_read=False)
            injections = [datetime.fromisoformat(e["date"]).date() for e in t["events"]
                          if e["kind"] == "cycle" and given.is_given(e)]
            points = sorted(series(t).get((scale, where), []))
            title = scale.replace("_", " ").capitalize() + (f" — {where}" if where else "")
            body = outcome_svg(request.app.state.bontrack.ref.scales, scale, points,
                               injections, title).encode()
            CHARTS.put(key, body)
        audit.record(uow, actor, "read", "chart", patient_id=patient_id)
    return Response(body, media_type="image/svg+xml; charset=utf-8",
                    headers={"Cache-Control": "no-store",
                             "Content-Security-Policy": SVG_CSP})

@router.get("/patients/{patient_id}", include_in_schema=False)
def patient_page(request: Request, patient_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        t = timeline.timeline(uow, actor, patient_id)
        rows, _ = records.list_for_patient(uow, actor, patient_id, "condition",
                                           50, 0)
        conditions = [condition_view(c) for c in rows if c.status == "active"]
        ref = state(request).ref
        a = patient_figures(uow, actor, patient_id, ref)
        next_visit = visits.visits(uow, actor, patient_id, ref, audit_read=False)["next_visit"]
    due = patient_due(t, a)
    return render(request, "patient.html", actor=actor, t=t, charts=chart_links(t), a=a,
                  conditions=conditions, due=due, next_visit=next_visit,
                  brands={p.id: p.brands[0] for p in ref.products.values()},
                  names={m.id: m.name for m in ref.muscles.values()},
                  plain_scales={k: v.plain_name for k, v in ref.scales.items()},
                  weight=(t["patient"]["weights"][-1]["weight_kg"]
                          if t["patient"]["weights"] else None))


#: (patient id, record version) -> (last given day, earliest safe date, suggested window)


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    add_routes(app, router)
    install_error_pages(app)


#: (patient id, record version) -> (last given day, earliest safe date, suggested window)
NEXT_DATES: LRU[tuple[int, int], tuple[Any, Any, Any]] = LRU(4096)


def _next_dates(uow: Any, versions: list[tuple[int, int]]) -> dict[int, tuple[Any, Any, Any]]:
    """The next-date facts of the listed patients, computed once per version of each
    record (the patient list shows who is due or overdue)."""
    out = {pid: NEXT_DATES.get((pid, ver)) for pid, ver in versions}
    stale = [pid for pid, hit in out.items() if hit is None]
    if stale:
        fresh = next_dates(uow, stale)
        for pid, ver in versions:
            if pid in fresh:
                NEXT_DATES.put((pid, ver), fresh[pid])
                out[pid] = fresh[pid]
    return {pid: hit for pid, hit in out.items() if hit is not None}


def patient_due(t: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
    """When the next cycle is due (or overdue) today, from the timeline and the figures."""
    def day(x: str | None) -> date | None:
        return date.fromisoformat(x) if x else None

    w = a.get("next_window")
    return given.next_due(day(t.get("last_given_date")), day(t.get("next_earliest_date")),
                          (date.fromisoformat(w["start"]), date.fromisoformat(w["end"]))
                          if w else None, given.today())


def chart_links(t: dict[str, Any]) -> list[dict[str, str]]:
    """One chart per outcome scale (and muscle/side); the SVG loads as its own request."""
    pid = t["patient"]["id"]
    links = []
    for scale, where in sorted(series(t)):
        title = scale.replace("_", " ").capitalize() + (f" — {where}" if where else "")
        query = urlencode({"scale": scale, "where": where})
        links.append({"title": title, "url": f"/patients/{pid}/chart.svg?{query}"})
    return links


CHARTS: LRU[tuple[int, int, str, str], bytes] = LRU(1024)


def install_error_pages(app: FastAPI) -> None:
    """Web pages answer errors with a page, not problem+json (the one renderer,
    bontrack.server.errors, calls ``error_page`` for them)."""
    set_page_renderer(app, error_page)
