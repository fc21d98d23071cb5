"""The outcome grid page: every muscle and side injected in a cycle in one form, with the
chosen scale's own values from the reference data (scales.yaml) and no value chosen for
the nurse: each row is a value or "not assessed", and a blank row is refused by name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from bontrack.errors import InvalidRecord
from bontrack.numerals import digits_value, is_digits
from bontrack.reference.schema import OutcomeScale
from bontrack.server.deps import RecordId, state
from bontrack.server.routing import add_routes
from bontrack.services import cycles, outcome_grid, planning, records
from bontrack.services.schemas import OutcomeIn
from bontrack.services.views import cycle_view, patient_view
from bontrack.web.form_errors import plain_error
from bontrack.web.rendering import check_csrf, render, signed_in, unit_of_work

router = APIRouter()
NOT_ASSESSED = "not-assessed"
#: a stepped range with at most this many values is offered as a list, not typed
LISTED_STEPS = 21


def choices(scale: OutcomeScale) -> list[str] | None:
    """The scale's values to choose from: its grades, or each step of a short stepped
    range (Tardieu 0-5); None where a number is typed (degrees, a decimal score)."""
    if scale.labels:
        return [label for label, _ in scale.labels]
    step = scale.step
    if step is None or (scale.high - scale.low) / step + 1 > LISTED_STEPS:
        return None
    out, v = [], scale.low
    while v <= scale.high:
        out.append(str(int(v)) if v == v.to_integral_value() else str(v.normalize()))
        v += step
    return out


def _grid_rows(cycle: dict[str, Any] | None) -> list[dict[str, str]]:
    """One row per muscle and side injected in the cycle, in the order injected."""
    if cycle is None:
        return []
    seen: dict[tuple[str, str], None] = {}
    for i in cycle["injections"]:
        seen.setdefault((i["muscle"], i["side"]), None)
    return [{"muscle": m, "side": s} for m, s in seen]


def _page(request: Request, uow: Any, actor: Any, patient_id: int, cycle_id: int | None,
          scale_id: str, typed: dict[str, str] | None = None, error: str | None = None,
          status: int = 200) -> Response:
    ref = state(request).ref
    patient = patient_view(records.get_patient(uow, actor, patient_id))
    cycle_list = planning.cycle_choices(uow, actor, patient_id)
    if cycle_id is None and cycle_list:
        cycle_id = cycle_list[0]["id"]
    cycle = None
    if cycle_id is not None:
        cyc = cycles.get_cycle(uow, actor, cycle_id, audit_read=False)
        if cyc.patient_id != patient_id:
            raise InvalidRecord(f"cycle {cycle_id} is not a cycle of this patient",
                                field="cycle")
        cycle = cycle_view(cyc)
    scale = ref.scales.get(scale_id) or ref.scales["modified_ashworth"]
    return render(request, "outcome_grid.html", status, actor=actor, patient=patient,
                  cycles=cycle_list, cycle=cycle, rows=_grid_rows(cycle),
                  scales=list(ref.scales.values()), scale=scale, values=choices(scale),
                  names={m.id: m.name for m in ref.muscles.values()}, typed=typed or {},
                  error=error, not_assessed=NOT_ASSESSED,
                  now=datetime.now().strftime("%Y-%m-%dT%H:%M"))


@router.get("/patients/{patient_id}/outcomes/grid", include_in_schema=False)
def grid(request: Request, patient_id: RecordId, cycle: RecordId | None = None,
         scale: str = "modified_ashworth") -> Response:
    with unit_of_work(request) as uow:
        return _page(request, uow, signed_in(request, uow), patient_id, cycle, scale[:64])


@router.post("/patients/{patient_id}/outcomes/grid", include_in_schema=False)
async def save_grid(request: Request, patient_id: RecordId) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    scale = str(form.get("scale") or "")[:64]
    cycle_raw = str(form.get("cycle_id") or "")
    cycle_id = digits_value(cycle_raw)
    measured_at = str(form.get("measured_at") or "")
    muscles, sides = form.getlist("muscle"), form.getlist("side")
    values = form.getlist("value")
    skips = {str(k) for k in form.getlist("skip")}  # a typed scale's "not assessed" boxes
    typed = {f"{m}|{s}": NOT_ASSESSED if f"{m}|{s}" in skips else str(v)
             for m, s, v in zip(muscles, sides, values, strict=False)}
    typed["measured_at"] = measured_at
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        ref = state(request).ref
        names = {m.id: m.name for m in ref.muscles.values()}
        rows: list[OutcomeIn] = []
        kept: list[tuple[str, str]] = []
        error = None
        for n, (m, s, v) in enumerate(zip(muscles, sides, values, strict=False), start=1):
            where = f"Row {n} ({names.get(str(m), str(m)).lower()}, {s})"
            value = str(v).strip()
            if value == NOT_ASSESSED or f"{m}|{s}" in skips:
                continue
            if not value:
                error = f"{where}: choose a value, or \"not assessed\"."
                break
            kept.append((str(m), str(s)))
            try:
                rows.append(OutcomeIn.model_validate(
                    {"scale": scale, "value": value, "measured_at": measured_at,
                     "muscle": m, "side": s,
                     **({"cycle_id": cycle_id} if cycle_id is not None else {})}))
            except ValidationError as err:
                error = f"{where}, " + plain_error(err)[:1].lower() + plain_error(err)[1:]
                break
        if error is None:
            try:
                outcome_grid.add_outcomes(uow, actor, patient_id, rows, ref)
            except InvalidRecord as err:
                error = _row_error(err, kept, names)
        if error is not None:
            return _page(request, uow, actor, patient_id, cycle_id, scale, typed, error, 422)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


def _row_error(err: InvalidRecord, kept: list[tuple[str, str]], names: dict[str, str]
               ) -> str:
    """The service's ``outcomes.<index>.<field>`` as the row on the screen."""
    parts = (err.field or "").split(".")
    if len(parts) == 3 and is_digits(parts[1]) and int(parts[1]) < len(kept):
        m, s = kept[int(parts[1])]
        return f"{names.get(m, m)}, {s}, {parts[2].replace('_', ' ')}: {err.message}."
    return plain_error(err)


def install_outcome_grid(app: FastAPI) -> None:
    add_routes(app, router)
