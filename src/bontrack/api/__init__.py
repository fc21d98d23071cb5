"""The REST API (FastAPI): thin routes over the use cases in bontrack.services."""
