"""Pages for outcomes, goals (GAS), side effects (with red-flag triage), the diary and the
leaflet. Each form goes through the same use cases and role rules as the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from bontrack.clinical import goal_library
from bontrack.clinical.gas import t_score
from bontrack.config import clinic_settings
from bontrack.errors import InvalidRecord
from bontrack.numerals import digits_value
from bontrack.reference.gas_quick import default_gas_quick
from bontrack.reports.leaflets import leaflet
from bontrack.server.deps import RecordId, state
from bontrack.server.routing import add_routes
from bontrack.services import corrections, goals, planning, records
from bontrack.services.schemas import (
    DiaryIn,
    EnteredInErrorIn,
    GoalIn,
    GoalScoreIn,
    GoalStatementIn,
    OutcomeIn,
    SideEffectIn,
)
from bontrack.services.views import diary_view, goal_view, patient_view
from bontrack.web.rendering import check_csrf, form_error, render, signed_in, unit_of_work

LEVELS = ((-2, "much less than expected"), (-1, "less than expected"), (0, "as expected"),
          (1, "more than expected"), (2, "much more than expected"))


def _opt(value: Any) -> Any:
    return value if value not in (None, "") else None


router = APIRouter()

def ref(request: Request) -> Any:
    return state(request).ref

# -- outcomes ------------------------------------------------------------------------
def outcome_form(request: Request, uow: Any, actor: Any, patient_id: int, scale: str,
                 error: str | None = None, status: int = 200) -> Response:
    patient = records.get_patient(uow, actor, patient_id)
    cycles = planning.cycle_choices(uow, actor, patient_id)
    return render(request, "outcome_new.html", status, actor=actor,
                  patient=patient_view(patient), scales=list(ref(request).scales.values()),
                  scale=ref(request).scales.get(
                      scale, ref(request).scales["modified_ashworth"]), error=error,
                  muscles=sorted(ref(request).muscles.values(), key=lambda m: m.name),
                  cycles=cycles,
                  now=datetime.now().strftime("%Y-%m-%dT%H:%M"))

@router.get("/patients/{patient_id}/outcomes/new", include_in_schema=False)
def outcome_new(request: Request, patient_id: RecordId, scale: str = "modified_ashworth"
                ) -> Response:
    with unit_of_work(request) as uow:
        return outcome_form(request, uow, signed_in(request, uow), patient_id, scale)

@router.post("/patients/{patient_id}/outcomes", include_in_schema=False)
async def outcome_save(request: Request, patient_id: RecordId) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    data = {k: _opt(form.get(k)) for k in ("scale", "value", "measured_at", "muscle",
                                             "side", "cycle_id")}
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        try:
            records.add_outcome(uow, actor, patient_id, OutcomeIn.model_validate(
                {k: v for k, v in data.items() if v is not None}), ref(request))
        except (ValidationError, InvalidRecord) as err:
            return outcome_form(request, uow, actor, patient_id, str(data["scale"]),
                                form_error(err), 422)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


# -- goals ---------------------------------------------------------------------------
@router.get("/patients/{patient_id}/goals", include_in_schema=False)
def goals_page(request: Request, patient_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        rows, _ = records.list_for_patient(uow, actor, patient_id, "goal", 200, 0)
        patient = patient_view(records.get_patient(uow, actor, patient_id,
                                                   audit_read=False))
        goals = [goal_view(g) for g in rows if g.status == "active"]
        withdrawn = [goal_view(g) for g in rows if g.status != "active"]
    return render(request, "goals.html", actor=actor, patient=patient,
                  goals=goals, withdrawn=withdrawn, levels=LEVELS,
                  library=goal_library.AREAS, library_source=goal_library.SOURCE,
                  quick=default_gas_quick(),
                  t=t_score([(g["attainment"], g["weight"]) for g in goals
                             if g["attainment"] is not None]),
                  can_write=actor.role in ("clinician", "nurse"))

@router.post("/patients/{patient_id}/goals", include_in_schema=False)
async def goal_add(request: Request, patient_id: RecordId) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        text = str(form.get("description") or "").strip()
        if not text and form.get("library"):  # a statement of the goal library as it is
            try:
                text = goal_library.statement(str(form.get("library")))
            except KeyError:
                raise InvalidRecord("library: not a statement of the goal library",
                                    field="library") from None
        records.add_goal(uow, actor, patient_id, GoalIn.model_validate(
            {"description": text, "weight": form.get("weight") or 1}))
    return RedirectResponse(f"/patients/{patient_id}/goals", status_code=303)

@router.post("/goals/{goal_id}/statement", include_in_schema=False)
async def goal_statement(request: Request, goal_id: RecordId) -> Response:
    """Edit a goal's words (the earlier words stay in the audit trail)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        g = goals.edit_statement(uow, actor, goal_id, GoalStatementIn.model_validate(
            {"description": form.get("description") or ""}),
            digits_value(str(form.get("version") or "")))
        pid = g.patient_id
    return RedirectResponse(f"/patients/{pid}/goals", status_code=303)

@router.post("/goals/{goal_id}/score", include_in_schema=False)
async def goal_score(request: Request, goal_id: RecordId) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    version = str(form.get("version") or "")
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        g = records.score_goal(uow, actor, goal_id, GoalScoreIn.model_validate(
            {"attainment": _opt(form.get("attainment")), "answer": _opt(form.get("answer"))}),
            digits_value(version))
        pid = g.patient_id
    return RedirectResponse(f"/patients/{pid}/goals", status_code=303)

# -- side effects --------------------------------------------------------------------
def side_effect_form(request: Request, uow: Any, actor: Any, patient_id: int,
                     error: str | None = None, status: int = 200) -> Response:
    patient = records.get_patient(uow, actor, patient_id)
    return render(request, "side_effect_new.html", status, actor=actor,
                  patient=patient_view(patient), error=error,
                  today=date.today().isoformat(),
                  seek_help=[f.plain_language for f in ref(request).red_flags])

@router.get("/patients/{patient_id}/side-effects/new", include_in_schema=False)
def side_effect_new(request: Request, patient_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        return side_effect_form(request, uow, signed_in(request, uow), patient_id)

@router.post("/patients/{patient_id}/side-effects", include_in_schema=False)
async def side_effect_save(request: Request, patient_id: RecordId) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    data = {"term": form.get("term") or "", "onset": form.get("onset") or None,
            "severity": form.get("severity") or "mild",
            "serious": bool(form.get("serious")),
            "relatedness": form.get("relatedness") or "unknown"}
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        try:
            se = records.add_side_effect(uow, actor, patient_id,
                                         SideEffectIn.model_validate(data), ref(request))
        except (ValidationError, InvalidRecord) as err:
            return side_effect_form(request, uow, actor, patient_id, form_error(err), 422)
        doc, term = se.triage or {}, se.term
        answer = triage_answer(request, uow, actor, patient_id, doc, term,
                               f"/patients/{patient_id}")
    return answer or RedirectResponse(f"/patients/{patient_id}", status_code=303)

def triage_answer(request: Request, uow: Any, actor: Any, patient_id: int,
                  doc: dict[str, Any], words: str, back: str) -> Response | None:
    """What the patient sees after writing: the urgent message for a red flag, the
    call-back message when unclear; None (go on) when not urgent."""
    if doc.get("level") not in ("urgent", "unclear"):
        return None
    last = planning.last_given(uow, actor, patient_id)
    return render(request, "urgent.html", actor=actor, term=words, triage=doc,
                  patient_id=patient_id, back=back,
                  product=last["product"] if last else None)

@router.get("/side-effects", include_in_schema=False)
def clinic_side_effects(request: Request) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        rows = records.clinic_reports(uow, actor)
        return render(request, "side_effects.html", actor=actor, rows=rows)

# -- diary ---------------------------------------------------------------------------
@router.get("/patients/{patient_id}/diary", include_in_schema=False)
def diary_page(request: Request, patient_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        rows, _ = records.list_for_patient(uow, actor, patient_id, "diary",
                                           200, 0)
        patient = patient_view(records.get_patient(uow, actor, patient_id,
                                                   audit_read=False))
        entries = sorted((diary_view(d) for d in rows), key=lambda d: d["entry_date"],
                         reverse=True)
    return render(request, "diary.html", actor=actor, patient=patient,
                  entries=entries, today=date.today().isoformat(),
                  can_write=actor.role == "patient" and actor.patient_id == patient_id,
                  can_correct=actor.role in ("clinician", "nurse") or (
                      actor.role == "patient" and actor.patient_id == patient_id))

@router.post("/patients/{patient_id}/diary", include_in_schema=False)
async def diary_save(request: Request, patient_id: RecordId) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    data = {k: _opt(form.get(k)) for k in ("entry_date", "spasm_frequency",
                                             "spasm_intensity", "pain", "side_effects",
                                             "note")}
    back = f"/patients/{patient_id}/diary"
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        d = records.add_diary(uow, actor, patient_id, DiaryIn.model_validate(
            {k: v for k, v in data.items() if v is not None}), ref(request))
        words = "; ".join(t for t in (d.side_effects, d.note) if t)
        answer = triage_answer(request, uow, actor, patient_id, d.triage or {}, words, back)
    return answer or RedirectResponse(back, status_code=303)

# -- entered in error -----------------------------------------------------------------
#: web path segment -> (kind, the page the record is listed on, under /patients/{id})
CORRECTABLE: dict[str, tuple[corrections.Kind, str]] = {
    "outcomes": ("outcome", ""), "side-effects": ("side_effect", ""),
    "goals": ("goal", "/goals"), "diary": ("diary", "/diary")}


def _correction_route(kind: corrections.Kind, page: str) -> Any:
    async def entered_in_error(request: Request, record_id: RecordId) -> Response:
        """Mark a record entered in error from the page that lists it (kept, audited)."""
        form = await request.form()
        check_csrf(request, str(form.get("csrf") or ""))
        version = str(form.get("version") or "")
        with unit_of_work(request) as uow:
            actor = signed_in(request, uow)
            r = corrections.enter_in_error(uow, actor, kind, record_id,
                                           EnteredInErrorIn.model_validate(
                                               {"reason": form.get("reason") or ""}),
                                           digits_value(version))
            pid = r.patient_id
        return RedirectResponse(f"/patients/{pid}{page}", status_code=303)

    return entered_in_error


for _segment, (_kind, _page) in CORRECTABLE.items():
    router.add_api_route(f"/{_segment}/{{record_id}}/entered-in-error",
                         _correction_route(_kind, _page), methods=["POST"],
                         include_in_schema=False, name=f"web_{_kind}_entered_in_error")

# -- leaflet -------------------------------------------------------------------------
@router.get("/patients/{patient_id}/leaflet", include_in_schema=False)
def leaflet_page(request: Request, patient_id: RecordId, product: str | None = None,
                 indication: str | None = None) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        patient = records.get_patient(uow, actor, patient_id)
        age = (date.today() - patient.birth_date).days // 365
        last = planning.last_given(uow, actor, patient_id)
        conditions = planning.active_indications(uow, actor, patient_id)
        condition = conditions[0] if conditions else None
    r = ref(request)
    pid = (r.product_id(product) if product else None) or (
        last["product"] if last else "onabotulinumtoxinA")
    iid = (r.indication_id(indication) if indication else None) or (
        last["indication"] if last else condition or "upper_limb_spasticity")
    given_on = (date.fromisoformat(last["date"]) if last and last["product"] == pid
                and last["indication"] == iid else None)
    return render(request, "leaflet.html", actor=actor, clinic=clinic_settings(),
                  l=leaflet(r, pid, iid, pediatric=age < 18, given_on=given_on))


def install_record_pages(app: FastAPI) -> None:
    add_routes(app, router)

