"""The whole application: the REST API with the web pages on top (web → api → services)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from bontrack.api.app import create_app as create_api
from bontrack.reference import Reference
from bontrack.web.analytics_pages import install_analytics_pages
from bontrack.web.cycle_pages import install_cycle_pages
from bontrack.web.medicine_pages import install_medicine_pages
from bontrack.web.pages import install_web
from bontrack.web.record_pages import install_record_pages
from bontrack.web.security import install_security_headers


def create_app(db_url: str, ref: Reference | None = None, engine: Engine | None = None
               ) -> FastAPI:
    app = create_api(db_url, ref=ref, engine=engine)
    install_web(app)
    install_cycle_pages(app)
    install_medicine_pages(app)
    install_record_pages(app)
    install_analytics_pages(app)
    install_security_headers(app)
    return app
