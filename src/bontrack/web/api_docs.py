"""The interactive API documentation, served entirely from this server: Swagger UI at
/docs and Redoc at /redoc, with pinned copies of their npm packages in static/vendor/
(versions in static/vendor/README.txt). A clinic network without internet still has its
API docs, and no page makes the browser contact a CDN."""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

SWAGGER = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — Swagger UI</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="/static/vendor/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""

REDOC = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — ReDoc</title>
</head>
<body>
<redoc spec-url="{openapi}"></redoc>
<script src="/static/vendor/redoc.standalone.js"></script>
</body>
</html>
"""


def install_api_docs(app: FastAPI) -> None:
    """/docs and /redoc (the app is created with FastAPI's CDN-based pages switched off)."""
    title = escape(app.title)
    openapi = escape(app.openapi_url or "/openapi.json")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER.format(title=title, openapi=openapi))

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC.format(title=title, openapi=openapi))
