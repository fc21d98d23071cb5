"""Route modules define their routes on a module-level ``APIRouter``; ``add_routes`` puts
them on the app itself, in order.

FastAPI's ``include_router`` (0.165) keeps an included router as one lazily resolved entry
of ``app.routes``. bontrack's routers carry no prefix or dependencies of their own, so their
routes are added as they are: ``app.routes`` stays the flat, ordered list that the OpenAPI
document, the security tests (every form, every id route) and any reader of the app walk.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def add_routes(app: FastAPI, router: APIRouter) -> None:
    app.router.routes.extend(router.routes)
