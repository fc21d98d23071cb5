"""The planner's dose help panel: when a muscle is clicked or focused (a body map point, an
injection row), an htmx fragment shows the label's range and sites for the product,
indication and patient (with the source), the patient's last doses in the muscle with the
response that followed, and the clinic's median (bontrack.analytics.dose_help)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from bontrack.analytics.dose_help import muscle_dose_help
from bontrack.clinical.dose_help import dose_help_doc
from bontrack.errors import FieldError, PlanError
from bontrack.server.deps import RecordId, state
from bontrack.services import given
from bontrack.web.form_errors import plain_error
from bontrack.web.rendering import render, signed_in, unit_of_work


def _weight(text: str | None) -> Decimal | None:
    """The weight typed on the planner, if it reads as a number (else the last recorded)."""
    if not text or not text.strip():
        return None
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise PlanError("dose help", "weight_kg", f"{text!r} is not a weight in kg") from None
    if not value.is_finite():
        raise PlanError("dose help", "weight_kg", f"{text!r} is not a weight in kg")
    return value


def install_dose_help_pages(app: FastAPI) -> None:
    @app.get("/patients/{patient_id}/dose-help", include_in_schema=False)
    def dose_help_fragment(request: Request, patient_id: RecordId, product: str = "",
                           indication: str = "", muscle: str = "", side: str = "",
                           weight_kg: str = "") -> HTMLResponse:
        """The panel's contents (a fragment; a bad choice is said in the panel)."""
        with unit_of_work(request) as uow:
            actor = signed_in(request, uow)
            try:
                found = muscle_dose_help(
                    uow, actor, patient_id, state(request).ref, product=product,
                    indication=indication, muscle=muscle, side=side or None,
                    weight_kg=_weight(weight_kg), as_of=given.today())
            except FieldError as exc:
                return render(request, "_dose_help.html", h=None, error=plain_error(exc))
        return render(request, "_dose_help.html", h=dose_help_doc(found), error=None)
