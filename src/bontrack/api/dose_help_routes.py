"""Dose help for one muscle (docs/api.md#dose-help): the label's range and sites for the
product, indication and patient's age (and weight), the patient's last doses in the muscle
with the response that followed, and the clinic's median from its own signed records
(bontrack.analytics.dose_help; bontrack.clinical.dose_help)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from bontrack.analytics.dose_help import muscle_dose_help
from bontrack.api.common import V1 as v1
from bontrack.api.outputs import ERRORS
from bontrack.api.strict_json import StrictJSONRoute
from bontrack.clinical.dose_help import dose_help_doc
from bontrack.server.deps import RecordId, TokenDep, authed, state
from bontrack.services import given

router = APIRouter(route_class=StrictJSONRoute, responses=ERRORS)

Name = Annotated[str, Query(min_length=1, max_length=80)]


@router.get(f"{v1}/patients/{{patient_id}}/dose-help", tags=["patterns"])
def dose_help(patient_id: RecordId, request: Request, token: TokenDep, product: Name,
              indication: Name, muscle: Name,
              side: Literal["left", "right", "midline"] | None = None,
              weight_kg: Annotated[Decimal | None, Query(gt=0, le=500)] = None
              ) -> JSONResponse:
    """Dose help for ``muscle`` with ``product`` (id, brand or generic name) for
    ``indication``: the label's range for the patient's age today (per kg: the units at
    ``weight_kg``, else the last recorded weight) with its sites, maxima and cited source —
    or, where the label gives no range, ``label.checked`` false and the reason in words; the
    patient's last given doses in the muscle of this product, and of other products apart
    (never converted), each with the response that followed; the clinic's median of this
    product (staff only; shown from 5 records of 3 patients)."""
    with authed(request, token) as (uow, actor):
        found = muscle_dose_help(uow, actor, patient_id, state(request).ref,
                                 product=product, indication=indication, muscle=muscle,
                                 side=side, weight_kg=weight_kg, as_of=given.today())
    return JSONResponse(dose_help_doc(found))
