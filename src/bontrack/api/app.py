"""The REST API under /api/v1: thin routes (in auth_routes, patient_routes, cycle_routes,
analytics_routes, fhir_routes) that hand the request's unit of work to the use cases.

Every error is RFC 9457 problem+json naming the field; an answer 2xx is sent only after the
use case committed. Single records carry an ETag (their version); changes need If-Match
(or a ``version`` field), so two clinicians never silently overwrite each other.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from bontrack import __version__
from bontrack.api import (
    auth_routes,
    cds_routes,
    correction_routes,
    cycle_diary_routes,
    cycle_routes,
    dose_help_routes,
    import_routes,
    patient_routes,
    pattern_routes,
    vial_routes,
    visit_routes,
)
from bontrack.api.analytics_routes import install_analytics_routes
from bontrack.api.fhir_routes import install_fhir
from bontrack.api.limits import BodyLimit
from bontrack.api.outputs import ERRORS
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.config import read_database_url
from bontrack.reference import Reference, default_reference
from bontrack.server.deps import State
from bontrack.server.errors import install_error_handlers
from bontrack.server.fast_lane import LanedApp
from bontrack.server.routing import add_routes
from bontrack.store.replica import read_from
from bontrack.store.uow import Database

MAX_BODY = 1_000_000
LOG = logging.getLogger("bontrack.api")


def create_app(db_url: str, ref: Reference | None = None, database: Database | None = None
               ) -> LanedApp:
    """The API on ``db_url`` (or on an already open ``database``, sharing its pool)."""
    app = LanedApp(
        title="bontrack API",
        version=__version__,
        description="Botulinum toxin therapy records: patients, cycles with the plan check, "
        "outcomes, goals, side effects, diary. Errors are RFC 9457 problem+json.",
        responses=ERRORS,
        docs_url=None,  # FastAPI's pages load from a CDN; bontrack.web.api_docs serves
        redoc_url=None,  # /docs and /redoc from local copies
    )
    app.router.route_class = StrictJSONRoute
    db = database or Database.at(db_url)
    replica = read_database_url()
    if replica is not None and database is None:
        read_from(db, replica)  # exports, reports, analytics read the replica
    app.state.bontrack = State(db=db, ref=ref or default_reference())
    install_errors(app)
    install_routes(app)
    install_analytics_routes(app)
    install_fhir(app)
    add_routes(app, import_routes.router)
    return app


def install_errors(app: LanedApp) -> None:
    """The body limit, and every error through the one renderer (bontrack.server.errors);
    before them all, the fast lanes of the hottest GETs (``server.fast_lane``)."""
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_lanes(patient_routes.LANES)
    app.lanes_pass(BodyLimit)  # a lane leaves every GET that declares a body to the app
    install_error_handlers(app)


def install_routes(app: FastAPI) -> None:
    """The REST routes, in the order they match."""
    for module in (auth_routes, patient_routes, cycle_routes, correction_routes, cds_routes,
                   visit_routes, pattern_routes, dose_help_routes, cycle_diary_routes,
                   vial_routes):
        add_routes(app, module.router)
