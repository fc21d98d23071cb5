"""What every web page shares: the templates, the signed CSRF double submit, the session cookie,
the signed-in actor, one line per form error, and the outcome series of a timeline."""

from __future__ import annotations

import base64
import hashlib
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
from pydantic import ValidationError

from bontrack.clinical.display import computed_units_text, scale_text, units_text
from bontrack.errors import AccessDenied, NotAuthenticated
from bontrack.errors_render import Problem
from bontrack.reports.body_map import dose_map_svg
from bontrack.reports.local_time import local_time
from bontrack.server.deps import unit_of_work
from bontrack.server_secret import secret_key
from bontrack.services import accounts
from bontrack.services.access import Actor
from bontrack.web.form_errors import plain_error

__all__ = [
    "CSRF",
    "HERE",
    "PAGE",
    "SESSION",
    "TEMPLATES",
    "check_csrf",
    "csrf_token",
    "form_error",
    "new_csrf_token",
    "render",
    "secure",
    "series",
    "signed_in",
    "unit_of_work",
]

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
TEMPLATES.env.filters["units"] = units_text
TEMPLATES.env.filters["amount"] = lambda x: (computed_units_text(Decimal(str(x)))
                                            if isinstance(x, int | float) else x)
TEMPLATES.env.filters["scale_value"] = pass_context(
    lambda ctx, value, scale: scale_text(ctx["request"].app.state.bontrack.ref.scales, scale,
                                         value))


TEMPLATES.env.filters["local_time"] = local_time
TEMPLATES.env.globals["dose_map_svg"] = dose_map_svg  # the same drawing as the PDF's
SESSION = "bt_session"
CSRF = "bt_csrf"
PAGE = 50


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def form_error(err: Exception) -> str:
    """One line naming the field and what is wrong, in words, for a form's error message."""
    return plain_error(err)


def _binding(session: str | None) -> bytes:
    """What a CSRF token is bound to: the session it was issued for (or none yet)."""
    return hashlib.sha256(session.encode()).digest() if session else b"signed-out"


def _signature(nonce: str, session: str | None) -> str:
    mac = hmac.new(secret_key(), nonce.encode() + b"|" + _binding(session), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def new_csrf_token(session: str | None) -> str:
    """A CSRF token for this session: a random nonce and its HMAC under the server's
    secret, bound to the session, so an attacker can neither choose a token nor carry one
    from another session (or from before a sign-in) into this one."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_signature(nonce, session)}"


def _valid(token: str, session: str | None) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce and signature) and hmac.compare_digest(signature,
                                                             _signature(nonce, session))


def csrf_token(request: Request) -> str:
    """The request's CSRF token if it is valid for its session, else a new one."""
    session = request.cookies.get(SESSION)
    cookie = request.cookies.get(CSRF, "")
    return cookie if _valid(cookie, session) else new_csrf_token(session)


def check_csrf(request: Request, form_value: str) -> None:
    """The form's token must equal the cookie (double submit) and carry the server's
    signature for this session."""
    cookie = request.cookies.get(CSRF, "")
    if (not cookie or not hmac.compare_digest(cookie, form_value or "")
            or not _valid(cookie, request.cookies.get(SESSION))):
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
    # a form's field error in words ("Description: write at least 3 characters."), never
    # pydantic's own text
    message = plain_error(exc) if isinstance(exc, ValidationError) else p.detail
    return render(request, "error.html", p.status, actor=getattr(request.state, "actor", None),
                  title=title, message=message)
