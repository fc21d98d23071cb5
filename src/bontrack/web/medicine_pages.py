"""The patient's medicines on the planning screen: shown with how the plan check reads each
one (which class of the label's Drug Interactions section, or not recognised), and edited in
place; saving re-runs the live check, which reads the stored list."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from bontrack.errors import InvalidRecord, VersionMismatch
from bontrack.numerals import digits_value
from bontrack.reference import Reference
from bontrack.server.deps import RecordId, state
from bontrack.services import records
from bontrack.services.schemas import PatientPatch
from bontrack.services.views import patient_view
from bontrack.web.rendering import check_csrf, form_error, render, signed_in, unit_of_work

EDITORS = ("clinician", "nurse")


def readings(ref: Reference, medications: list[str]) -> list[dict[str, str]]:
    """Each stored medicine with the words the plan check will read it by."""
    out = []
    for text in medications:
        matches = ref.medications(text)
        parts = []
        for match in matches:
            known = match.known
            name = "" if len(matches) == 1 else f"{match.text}: "
            if known is None:
                hint = (f"; did you mean {' or '.join(match.suggestions)}?"
                        if match.suggestions else "")
                parts.append(f"{name}not recognised, interactions not checked{hint}")
                continue
            classes = ", ".join(sorted(ref.drug_classes[c].name.lower() for c in known.classes))
            guess = " (spelling read as the closest known name)" if match.read_as else ""
            parts.append(f"{name}read as {known.medicine}{guess} — {classes}")
        out.append({"text": text,
                    "reading": "; ".join(parts) or "not recognised, interactions not checked"})
    return out


def medicines_context(ref: Reference, actor: Any, patient: dict[str, Any]) -> dict[str, Any]:
    return {"listed": readings(ref, patient["medications"]),
            "can_edit": actor.role in EDITORS,
            "text": "\n".join(patient["medications"]),
            "version": patient["version"]}


def install_medicine_pages(app: FastAPI) -> None:
    @app.post("/patients/{patient_id}/medications", include_in_schema=False)
    async def save_medications(request: Request, patient_id: RecordId) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf") or ""))
        ref = state(request).ref
        lines = [ln.strip() for ln in str(form.get("medications") or "").splitlines()
                 if ln.strip()]
        version = str(form.get("version") or "")
        error = None
        with unit_of_work(request) as uow:
            actor = signed_in(request, uow)
            try:
                body = PatientPatch.model_validate(
                    {"medications": lines, "version": digits_value(version)})
                records.update_patient(uow, actor, patient_id, body, None, ref)
            except (ValidationError, InvalidRecord) as err:
                error = form_error(err)
            except VersionMismatch:
                error = ("Someone else changed this patient's record: reload the page to see "
                         "the current medicines, then save again.")
            patient = patient_view(records.get_patient(uow, actor, patient_id, audit_read=False))
        if request.headers.get("HX-Request") != "true":
            if error is not None:
                return render(request, "error.html", 422, actor=actor, title="Not saved",
                              message=error)
            return RedirectResponse(f"/patients/{patient_id}/cycles/new", status_code=303)
        meds = medicines_context(ref, actor, patient)
        if error is not None:
            meds.update(error=error, text="\n".join(lines))
        # 200 even when refused: htmx swaps only 2xx answers, and the refusal is shown in place
        response: HTMLResponse = render(request, "_medicines.html", actor=actor,
                                        patient=patient, meds=meds, saved=error is None)
        if error is None:
            response.headers["HX-Trigger"] = "medicines-saved"
        return response
