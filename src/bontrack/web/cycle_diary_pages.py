"""The cycle diary's page (issue 17 item 6): ``/cycles/{id}/diary``, where the patient
answers, after a signed cycle, when it started working and wore off, their symptoms and
their global impression of change, and amends an earlier answer (kept). Staff see the
answers here and on the cycle page. Same use case and rules as the API
(bontrack.services.cycle_diary)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from bontrack.errors import InvalidRecord, VersionMismatch
from bontrack.server.deps import RecordId, state
from bontrack.server.routing import add_routes
from bontrack.services import cycle_diary, cycles, records
from bontrack.services.cycle_diary import CycleDiaryIn
from bontrack.services.views import patient_view
from bontrack.web.record_pages import triage_answer
from bontrack.web.rendering import check_csrf, form_error, render, signed_in, unit_of_work

router = APIRouter()

FIELDS = ("onset", "onset_date", "wore_off", "wore_off_date", "global_impression",
          "spasm_frequency", "spasm_intensity", "pain", "side_effects", "note", "version",
          "reason")


def _page(request: Request, uow: Any, actor: Any, cycle_id: int, error: str | None = None,
          entered: dict[str, Any] | None = None, status: int = 200) -> Response:
    diary = cycle_diary.cycle_diary(uow, actor, cycle_id)
    c = cycles.get_cycle(uow, actor, cycle_id, audit_read=False)
    patient_id = c.patient_id
    patient = patient_view(records.get_patient(uow, actor, patient_id, audit_read=False))
    can_answer = (diary["can_answer"] and actor.role == "patient"
                  and actor.patient_id == patient_id)
    shown = entered if entered is not None else (diary["current"] or {})
    return render(request, "cycle_diary.html", status, actor=actor, diary=diary,
                  patient=patient, product=c.product, can_answer=can_answer, error=error,
                  v=shown, today=cycle_diary.today_anywhere().isoformat())


@router.get("/cycles/{cycle_id}/diary", include_in_schema=False)
def diary_page(request: Request, cycle_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        return _page(request, uow, signed_in(request, uow), cycle_id)


@router.post("/cycles/{cycle_id}/diary", include_in_schema=False)
async def diary_save(request: Request, cycle_id: RecordId) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    data = {k: v for k in FIELDS if (v := str(form.get(k) or "").strip()) != ""}
    # the radio button is the answer: a day left in the box beside another answer is dropped
    for choice, day in (("onset", "onset_date"), ("wore_off", "wore_off_date")):
        if data.get(choice) != "date":
            data.pop(day, None)
    back = f"/cycles/{cycle_id}/diary"
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        try:
            row = cycle_diary.answer_cycle_diary(
                uow, actor, cycle_id, CycleDiaryIn.model_validate(data), state(request).ref,
                cycle_diary.today_anywhere())
        except (ValidationError, InvalidRecord, VersionMismatch) as err:
            # the use case's messages already begin with the field they name
            line = err.message if isinstance(err, InvalidRecord) else form_error(err)
            return _page(request, uow, actor, cycle_id, line, data, 422)
        words = "; ".join(t for t in (row.side_effects, row.note) if t)
        answer = triage_answer(request, uow, actor, row.patient_id, row.triage or {},
                               words, back)
    return answer or RedirectResponse(f"{back}?saved=1", status_code=303)


def install_cycle_diary_pages(app: FastAPI) -> None:
    add_routes(app, router)
