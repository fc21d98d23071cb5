"""Security headers on every answer: a strict Content-Security-Policy (no inline scripts),
no MIME sniffing, no framing, no referrer leaks, no caching of anything but static files,
and HSTS when served over HTTPS."""

from __future__ import annotations

from typing import Any

from bontrack.server.fast_lane import LanedApp

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: The API docs pages (Swagger UI, Redoc; see api_docs.py) run only scripts served from
#: here too, but both libraries set inline styles at run time (style attributes,
#: styled-components) and Redoc starts its search index in a blob: worker.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
DOCS = ("/docs", "/redoc")
#: Scripts, styles and images of the pages themselves: the only answers a cache may keep.
STATIC = "/static/"
#: Charts as SVG documents (matplotlib styles them inline): opened on their own in a tab
#: they may style themselves, and nothing else: no scripts, no loads.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def install_security_headers(app: LanedApp) -> None:
    app.add_middleware(SecurityHeaders)
    app.lanes_pass(SecurityHeaders, added_headers)  # the lanes answer outside it


_ADDED: dict[tuple[bool, bool, bool], tuple[tuple[bytes, bytes], ...]] = {}


def added_headers(path: str, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every answer on ``path`` gets, unless it sets them itself."""
    docs, no_store = path in DOCS, not path.startswith(STATIC)
    key = (docs, no_store, https)
    found = _ADDED.get(key)
    if found is None:
        # Patient data must not stay in a browser's or a proxy's cache (ASVS V8.2.1); the
        # page's own scripts and styles may.
        extra = [(b"x-content-type-options", b"nosniff"),
                 (b"referrer-policy", b"no-referrer"),
                 (b"x-frame-options", b"DENY"),
                 (b"content-security-policy", (DOCS_CSP if docs else CSP).encode())]
        if no_store:
            extra.append((b"cache-control", b"no-store"))
        if https:
            extra.append((b"strict-transport-security",
                          b"max-age=31536000; includeSubDomains"))
        found = _ADDED[key] = tuple(extra)
    return found


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task and stream of Starlette's
    ``BaseHTTPMiddleware``, a quarter of a fast GET's time): adds the headers an answer does
    not set itself."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = added_headers(scope.get("path") or "", scope.get("scheme") == "https")

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
