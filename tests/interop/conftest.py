"""The demo registry fixtures of the FHIR tests serve the CSV tests too."""

from tests.fhir.conftest import demo_url, sqlite_demo

__all__ = ["demo_url", "sqlite_demo"]
