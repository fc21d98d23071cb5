"""CDS Hooks 2.0 (docs/cds-hooks.md): the discovery document and the order-select and
order-sign services. The EHR authenticates with a signed JWT (``services.cds_clients``);
errors are JSON (problem+json) like the rest of the API, never a page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bontrack.api.outputs import ERRORS
from bontrack.cds.discovery import SERVICES, discovery
from bontrack.errors import NotAuthenticated, NotFound
from bontrack.server.deps import bearer, client_address, state, unit_of_work
from bontrack.services import cds

router = APIRouter(responses=ERRORS)
#: Hook requests carry whole draft-order Bundles; the app's body limit still applies.
CORS = {"Access-Control-Allow-Origin": "*"}


@router.get("/cds-services", tags=["cds hooks"])
def cds_discovery() -> JSONResponse:
    """The services bontrack offers, their hooks and prefetch templates (no sign-in)."""
    return JSONResponse(discovery(), headers=CORS)


@router.post("/cds-services/{service_id}", tags=["cds hooks"])
async def cds_hook(service_id: str, request: Request) -> JSONResponse:
    """A hook call: ``Authorization: Bearer <JWT>`` (ES384 or RS384, from a registered EHR),
    the spec's request body; the answer is ``{"cards": [...]}``."""
    if service_id not in SERVICES:
        raise NotFound(f"no CDS service {service_id!r} (GET /cds-services lists them)")
    try:
        token = bearer(request)
        raw = await request.body()
        answer = await run_in_threadpool(_answer, request, service_id, token, raw,
                                         str(request.base_url))
    except NotAuthenticated as exc:
        await run_in_threadpool(_refused, request, service_id, str(exc))
        raise
    return JSONResponse(answer, headers=CORS)


def _refused(request: Request, service_id: str, reason: str) -> None:
    with unit_of_work(request) as uow:
        cds.record_refusal(uow, service_id, reason, client_address(request))


def _answer(request: Request, service_id: str, token: str, raw: bytes, base: str
            ) -> dict[str, Any]:
    with unit_of_work(request) as uow:
        return cds.answer(uow, service_id, token, raw, base, state(request).ref)
