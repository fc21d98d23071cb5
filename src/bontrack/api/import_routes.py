"""POST /api/v1/fhir/import: a FHIR R4 Bundle (or one resource, or NDJSON) imported into the
signed-in clinician's or admin's clinic, as ``bontrack fhir import`` does (docs/fhir.md,
"Import"): all or nothing for what bontrack imports; what it does not is skipped and listed
in the answer. A refused input answers 422 problem+json with every problem, nothing saved.
The request body is limited like every request (``api.app.MAX_BODY``); larger inputs go
through the command line, which streams NDJSON.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bontrack.api.outputs import ERRORS
from bontrack.errors import ImportRefused
from bontrack.fhir.reading import Problem, scan_input
from bontrack.fhir.registry import REGISTRY
from bontrack.server.deps import authed, bearer, state
from bontrack.services import exchange

router = APIRouter(responses=ERRORS)


def _problem(p: Any) -> dict[str, str]:
    if isinstance(p, Problem):
        return {"resource": p.resource, "path": p.path, "reason": p.message}
    return {"resource": "", "path": "", "reason": str(p)}


@router.post("/api/v1/fhir/import", tags=["fhir"])
async def import_fhir(request: Request) -> JSONResponse:
    """Import a FHIR R4 Bundle. The answer: what was imported (counts), what was skipped
    (resource, element, reason), what an earlier import already wrote, and warnings."""
    body = await request.body()
    token = bearer(request)
    return await run_in_threadpool(_import, request, token, body)


def _import(request: Request, token: str, body: bytes) -> JSONResponse:
    ref = state(request).ref
    with tempfile.TemporaryDirectory() as folder:
        f = Path(folder) / "request.json"
        f.write_bytes(body)
        inp, problems = scan_input(f, REGISTRY.types)
        with authed(request, token) as (uow, actor):
            try:
                done = exchange.import_fhir_as(uow, actor, ref, inp, "the request", problems)
            except ImportRefused as refused:
                n = len(refused.problems)
                return JSONResponse(
                    {"type": "about:blank", "title": "Import refused", "status": 422,
                     "detail": f"nothing was imported ({n} problem{'s' if n != 1 else ''})",
                     "problems": [_problem(p) for p in refused.problems]},
                    status_code=422, media_type="application/problem+json")
    return JSONResponse({
        "imported": done.counts, "skipped": [_problem(p) for p in done.skipped],
        "already_imported": done.already, "warnings": done.warnings,
        "people_without_account": len(done.unmatched_people)})
