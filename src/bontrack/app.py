"""The whole application: the REST API with the web pages on top (web → api → services).

``create_app`` is also the app factory for ASGI servers: called with no arguments it reads
the database from ``DATABASE_URL`` (see docs/deploy.md), e.g.

    uvicorn bontrack.app:create_app --factory --workers 4 --http httptools
    gunicorn -k uvicorn.workers.UvicornWorker -w 4 'bontrack.app:create_app()'

It never migrates: run ``bontrack db upgrade`` first (``/ready`` says when that is due).
"""

from __future__ import annotations

from fastapi import FastAPI

from bontrack.api.app import create_app as create_api
from bontrack.config import database_url
from bontrack.reference import Reference
from bontrack.store.uow import Database
from bontrack.web.analytics_pages import install_analytics_pages
from bontrack.web.api_docs import install_api_docs
from bontrack.web.cycle_diary_pages import install_cycle_diary_pages
from bontrack.web.cycle_pages import install_cycle_pages
from bontrack.web.dose_help_pages import install_dose_help_pages
from bontrack.web.medicine_pages import install_medicine_pages
from bontrack.web.outcome_grid import install_outcome_grid
from bontrack.web.pages import install_web
from bontrack.web.patient_forms import install_patient_forms
from bontrack.web.recall_pages import install_recall_pages
from bontrack.web.record_pages import install_record_pages
from bontrack.web.security import install_security_headers
from bontrack.web.vial_pages import install_vial_pages


def create_app(db_url: str | None = None, ref: Reference | None = None,
               database: Database | None = None) -> FastAPI:
    if db_url is None:
        db_url = database_url()
    app = create_api(db_url, ref=ref, database=database)
    install_patient_forms(app)
    install_outcome_grid(app)
    install_recall_pages(app)
    install_web(app)
    install_cycle_pages(app)
    install_medicine_pages(app)
    install_dose_help_pages(app)
    install_record_pages(app)
    install_cycle_diary_pages(app)
    install_analytics_pages(app)
    install_vial_pages(app)
    install_api_docs(app)
    install_security_headers(app)
    return app
