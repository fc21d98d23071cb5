"""Add and change a patient on the web: a new patient, their details and medicines, a weight,
a condition (issue 17). The same use cases and role rules as the API; a refused form is
shown again with what was typed and one plain line naming the field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from bontrack.errors import AccessDenied, Conflict, InvalidRecord, VersionMismatch
from bontrack.server.deps import RecordId, state
from bontrack.server.routing import add_routes
from bontrack.services import conditions, given, records
from bontrack.services.schemas import (
    ConditionIn,
    ConditionPatch,
    PatientIn,
    PatientPatch,
    WeightIn,
)
from bontrack.services.views import condition_view, patient_view
from bontrack.web.form_errors import error_fields, plain_error
from bontrack.web.medicine_pages import readings
from bontrack.web.rendering import check_csrf, render, signed_in, unit_of_work

router = APIRouter()
REFUSED = (ValidationError, InvalidRecord, Conflict, VersionMismatch)
SEXES = ("female", "male", "other", "unknown")
SIDES = ("left", "right", "bilateral", "midline")


def _text(form: FormData, key: str) -> str:
    return str(form.get(key) or "").strip()


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.splitlines() if line.strip()]


def _given(raw: str) -> list[str]:
    """The "Given names" field: first and middle names in order, separated by spaces (a
    given name holding a space is written through the API)."""
    return raw.split()


@router.get("/patients/new", include_in_schema=False)
def new_patient(request: Request) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
    if actor.role == "patient":
        raise AccessDenied("a patient may not add patients", entity="patient")
    return render(request, "patient_new.html", actor=actor, form={}, sexes=SEXES,
                  invalid=set())


@router.post("/patients/new", include_in_schema=False)
async def create_patient(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, _text(form, "csrf"))
    doc: dict[str, Any] = {k: _text(form, k) for k in ("mrn", "display_name", "birth_date",
                                                       "sex")}
    doc["medications"] = _lines(str(form.get("medications") or ""))
    # left empty: no part (the name is then typed only as "Name"); an empty "Name" with
    # parts is built from them (given names, then family name: PatientIn)
    if _text(form, "family_name"):
        doc["family_name"] = _text(form, "family_name")
    if _given(_text(form, "given_names")):
        doc["given_names"] = _given(_text(form, "given_names"))
    if _text(form, "weight_kg"):
        doc["weight_kg"] = _text(form, "weight_kg")
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        try:
            p = records.create_patient(uow, actor, PatientIn.model_validate(doc),
                                       state(request).ref)
            pid = p.id
        except REFUSED as err:
            typed = {**doc, "medications": "\n".join(doc["medications"]),
                     "given_names": _text(form, "given_names")}
            return render(request, "patient_new.html", 422, actor=actor, sexes=SEXES,
                          form=typed, error=plain_error(err),
                          invalid=error_fields(err))
    return RedirectResponse(f"/patients/{pid}", status_code=303)


def details_page(request: Request, uow: Any, actor: Any, patient_id: int,
                 error: str | None = None, status: int = 200,
                 typed: dict[str, Any] | None = None,
                 invalid: set[str] | None = None) -> Response:
    patient = patient_view(records.get_patient(uow, actor, patient_id))
    rows, _ = records.list_for_patient(uow, actor, patient_id, "condition", 100, 0)
    ref = state(request).ref
    return render(request, "patient_details.html", status, actor=actor, patient=patient,
                  conditions=[condition_view(c) for c in rows if c.status == "active"],
                  indications=list(ref.indications.values()), sexes=SEXES, sides=SIDES,
                  medicines=readings(ref, patient["medications"]), error=error,
                  typed=typed or {}, invalid=invalid or set(),
                  today=given.today().isoformat(),
                  can_edit=actor.role in ("clinician", "nurse"))


@router.get("/patients/{patient_id}/details", include_in_schema=False)
def details(request: Request, patient_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        return details_page(request, uow, signed_in(request, uow), patient_id)


async def _submit(request: Request, patient_id: int, action: Any) -> Response:
    """Run one of the details page's forms; on a refusal, the page again with the line."""
    form = await request.form()
    check_csrf(request, _text(form, "csrf"))
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        try:
            action(uow, actor, form)
        except REFUSED as err:
            typed = {k: str(v) for k, v in form.items() if k != "csrf"}
            return details_page(request, uow, actor, patient_id, plain_error(err), 422, typed,
                                error_fields(err))
    return RedirectResponse(f"/patients/{patient_id}/details", status_code=303)


@router.post("/patients/{patient_id}/details", include_in_schema=False)
async def save_details(request: Request, patient_id: RecordId) -> Response:
    def action(uow: Any, actor: Any, form: FormData) -> None:
        doc: dict[str, Any] = {
            "version": _text(form, "version") or None,
            "display_name": _text(form, "display_name"),
            "birth_date": _text(form, "birth_date"), "sex": _text(form, "sex"),
            "medications": _lines(str(form.get("medications") or ""))}
        # a part left empty is removed; the given names are sent only when changed, so a
        # given name holding a space (written through the API) is not split by a save
        if "family_name" in form:
            doc["family_name"] = _text(form, "family_name")
        if "given_names" in form and _text(form, "given_names") != _text(form, "given_was"):
            doc["given_names"] = _given(_text(form, "given_names"))
        records.update_patient(uow, actor, patient_id, PatientPatch.model_validate(doc), None,
                               state(request).ref)
    return await _submit(request, patient_id, action)


@router.post("/patients/{patient_id}/weights", include_in_schema=False)
async def add_weight(request: Request, patient_id: RecordId) -> Response:
    def action(uow: Any, actor: Any, form: FormData) -> None:
        records.add_weight(uow, actor, patient_id, WeightIn.model_validate(
            {"measured_on": _text(form, "measured_on"), "weight_kg": _text(form, "weight_kg")}))
    return await _submit(request, patient_id, action)


@router.post("/patients/{patient_id}/conditions", include_in_schema=False)
async def add_condition(request: Request, patient_id: RecordId) -> Response:
    def action(uow: Any, actor: Any, form: FormData) -> None:
        doc = {"indication": _text(form, "indication"), "note": _text(form, "note"),
               **{k: _text(form, k) for k in ("icd10cm", "affected_side", "onset_date")
                  if _text(form, k)}}
        records.add_condition(uow, actor, patient_id, ConditionIn.model_validate(doc),
                              state(request).ref)
    return await _submit(request, patient_id, action)


@router.post("/patients/{patient_id}/conditions/{condition_id}", include_in_schema=False)
async def change_condition(request: Request, patient_id: RecordId,
                           condition_id: RecordId) -> Response:
    def action(uow: Any, actor: Any, form: FormData) -> None:
        doc: dict[str, Any] = {k: _text(form, k) or None
                               for k in ("icd10cm", "affected_side", "onset_date")}
        doc["note"] = _text(form, "note")
        doc["entered_in_error"] = bool(form.get("entered_in_error"))
        conditions.update_condition(uow, actor, condition_id,
                                    ConditionPatch.model_validate(doc), patient_id)
    return await _submit(request, patient_id, action)


def install_patient_forms(app: FastAPI) -> None:
    """Before the patient page's routes, so ``/patients/new`` is not read as an id."""
    add_routes(app, router)
