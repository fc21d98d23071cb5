"""Posture and pattern templates (docs/api.md#patterns): the list, and a proposal of
injection rows for one product, indication and patient from one or more patterns. Doses and
sites come only from the product's own label entry (bontrack.clinical.patterns)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from bontrack.api.common import V1 as v1
from bontrack.api.outputs import ERRORS
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.clinical.patterns import pattern_doc, patterns_for, proposal_doc, propose
from bontrack.errors import BadSearch
from bontrack.server.deps import TokenDep, state, unit_of_work
from bontrack.services import accounts
from bontrack.services.schemas import In

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

PatternId = Annotated[str, Field(min_length=1, max_length=80)]


class ProposeIn(In):
    patterns: list[PatternId] = Field(min_length=1, max_length=20)
    product: str = Field(min_length=1, max_length=80)
    indication: str = Field(min_length=1, max_length=80)
    age_years: int = Field(ge=0, le=130)
    weight_kg: Annotated[Decimal, Field(gt=0, le=400, decimal_places=2)] | None = None
    side: Literal["left", "right", "both"]


def _signed_in(request: Request, token: str) -> None:
    with unit_of_work(request) as uow:
        accounts.actor_for_token(uow, token)


@router.get(f"{v1}/patterns", tags=["patterns"])
def list_patterns(request: Request, token: TokenDep,
                  indication: Annotated[str | None, Query(max_length=80)] = None
                  ) -> JSONResponse:
    """The posture and pattern templates with their muscles and sources; ``indication``
    (an id, name or synonym) keeps those that apply to it."""
    _signed_in(request, token)
    ref = state(request).ref
    ind = None
    if indication is not None:
        ind = ref.indication_id(indication)
        if ind is None:
            raise BadSearch(f"unknown indication {indication!r}", field="indication")
    return JSONResponse({"items": [pattern_doc(ref, p) for p in patterns_for(ref, ind)]})


@router.post(f"{v1}/patterns/propose", tags=["patterns"])
def propose_rows(body: ProposeIn, request: Request, token: TokenDep) -> JSONResponse:
    """Injection rows for the patterns: each muscle's lower label bound and the label's sites
    for this product, indication, age and weight, the range and its citation; muscles with no
    label dose for the product under ``not_proposed``; the plan check's stops, if any."""
    _signed_in(request, token)
    ref = state(request).ref
    product = ref.product_id(body.product) or body.product
    indication = ref.indication_id(body.indication) or body.indication
    found = propose(ref, body.patterns, product, indication, body.age_years, body.weight_kg,
                    body.side, day=date.today())
    return JSONResponse(proposal_doc(found))
