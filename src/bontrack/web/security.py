"""Security headers on every answer: a strict Content-Security-Policy (no inline scripts),
no MIME sniffing, no framing, no referrer leaks, no caching of anything but static files,
and HSTS when served over HTTPS."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

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
#: Charts as SVG documents (matplotlib styles them inline): opened on their own in a tab
#: they may style themselves, and nothing else: no scripts, no loads.
#: Scripts, styles and images of the pages themselves: the only answers a cache may keep.
STATIC = "/static/"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def install_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Content-Security-Policy",
                     DOCS_CSP if request.url.path in DOCS else CSP)
        if not request.url.path.startswith(STATIC):
            # Patient data must not stay in a browser's or a proxy's cache (ASVS V8.2.1).
            h.setdefault("Cache-Control", "no-store")
        if request.url.scheme == "https":
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
