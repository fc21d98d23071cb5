"""What every web page shares: the templates, the CSRF double submit, the session cookie,
the signed-in actor, one line per form error, and the outcome series of a timeline."""

from __future__ import annotations

import hmac
import secrets
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from bontrack.clinical.display import computed_units_text, scale_text, units_text
from bontrack.errors import AccessDenied, NotAuthenticated
from bontrack.errors_render import Problem, form_line
from bontrack.server.deps import unit_of_work
from bontrack.services import accounts
from bontrack.services.access import Actor

__all__ = ["CSRF", "HERE", "PAGE", "SESSION", "TEMPLATES", "check_csrf", "csrf_token",
           "form_error", "render", "secure", "series", "signed_in", "unit_of_work"]

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
TEMPLATES.env.filters["units"] = units_text
TEMPLATES.env.filters["amount"] = lambda x: (computed_units_text(Decimal(str(x)))
                                            if isinstance(x, int | float) else x)
TEMPLATES.env.filters["scale_value"] = pass_context(
    lambda ctx, value, scale: scale_text(ctx["request"].app.state.bontrack.ref.scales, scale,
                                         value))
SESSION = "bt_session"
CSRF = "bt_csrf"
PAGE = 50


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def form_error(err: Exception) -> str:
    """One line naming the field and what is wrong, for a form's error message."""
    return form_line(err)


def csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF) or secrets.token_urlsafe(24)


def check_csrf(request: Request, form_value: str) -> None:
    cookie = request.cookies.get(CSRF, "")
    if not cookie or not hmac.compare_digest(cookie, form_value or ""):
        raise AccessDenied("the form expired or did not come from this site; reload the page "
                           "and try again", entity="csrf")


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    token = csrf_token(request)
    response = TEMPLATES.TemplateResponse(
        request, name, {"csrf": token, "actor": ctx.pop("actor", None), **ctx},
        status_code=status)
    response.headers["Cache-Control"] = "no-store"
    if request.cookies.get(CSRF) != token:
        response.set_cookie(CSRF, token, httponly=True, samesite="strict",
                            secure=secure(request), path="/")
    return response


def signed_in(request: Request, session: Any) -> Actor:
    token = request.cookies.get(SESSION)
    if not token:
        raise NotAuthenticated("please sign in")
    actor = accounts.actor_for_token(session, token)
    request.state.actor = actor
    return actor


def series(t: dict[str, Any]) -> dict[tuple[str, str], list[tuple[datetime, float]]]:
    """Outcome points per (scale, muscle and side)."""
    out: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for e in t["events"]:
        if e["kind"] == "outcome" and e["status"] == "active":
            where = " ".join(x for x in (e.get("muscle") or "", e.get("side") or "") if x)
            out[(e["scale"], where.replace("_", " "))].append(
                (datetime.fromisoformat(e["measured_at"]).replace(tzinfo=None), e["value"]))
    return out




def error_page(request: Request, p: Problem, exc: BaseException) -> Response:
    """The web's rendering of a problem: sign-in errors go to the sign-in page, the rest is
    the error page with the status, a title and the message."""
    if isinstance(exc, NotAuthenticated):
        return RedirectResponse("/login", status_code=303)
    title = "Not allowed" if isinstance(exc, AccessDenied) else p.title
    return render(request, "error.html", p.status, actor=getattr(request.state, "actor", None),
                  title=title, message=p.detail)
