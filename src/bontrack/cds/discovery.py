"""The CDS Hooks discovery document: bontrack's services, their hooks and prefetch templates.

Draft orders arrive in ``context.draftOrders`` (the spec puts them there for order-select
and order-sign), so the one prefetch template is the patient: bontrack matches the EHR's
patient to its own record by identifier and compares the birth date.
"""

from __future__ import annotations

from typing import Any

PREFETCH = {"patient": "Patient/{{context.patientId}}"}

#: service id -> hook
SERVICES: dict[str, str] = {
    "bontrack-order-select": "order-select",
    "bontrack-order-sign": "order-sign",
}

_DESCRIPTION = (
    "Checks draft botulinum toxin MedicationRequests (units per muscle and side, per "
    "product; units of different products are never added or converted) against bontrack's "
    "cited label limits with the patient's treatment history in bontrack: session, "
    "weight-based and cumulative maxima, retreatment interval, dose per muscle and site. "
    "Stops are critical cards, warnings warning cards; checks that could not run are info "
    "cards."
)


def discovery() -> dict[str, Any]:
    """``GET /cds-services``."""
    return {"services": [
        {"hook": hook, "id": sid,
         "title": f"bontrack botulinum toxin dose check ({hook})",
         "description": _DESCRIPTION, "prefetch": dict(PREFETCH),
         "usageRequirements": "The EHR is registered in BONTRACK_CDS_CLIENTS (its JWKS and "
         "the bontrack clinic it acts for); see docs/cds-hooks.md."}
        for sid, hook in SERVICES.items()
    ]}
