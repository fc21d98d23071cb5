"""The main screen: plan a cycle on the body map with the live plan check, record it (stops
need an override with a reason), sign and lock it, print it."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from bontrack.clinical.patterns import patterns_for, propose
from bontrack.clinical.result import result_dict
from bontrack.errors import AccessDenied, InvalidRecord, PlanError, StopNotOverridden
from bontrack.numerals import digits_value
from bontrack.reports import body_map
from bontrack.reports.leaflets import CONSENT_TOPICS, consent_points, consent_text
from bontrack.server.deps import RecordId, state
from bontrack.services import cycle_diary, cycles, given, planning, records
from bontrack.services.schemas import AmendIn, CycleIn, SignIn
from bontrack.services.views import cycle_view, patient_view, revision_views
from bontrack.web import bodymap
from bontrack.web.form_errors import plain_error
from bontrack.web.medicine_pages import medicines_context
from bontrack.web.rendering import check_csrf, render, signed_in, unit_of_work

FIELD_NAMES = {"muscle", "side", "units", "sites", "guidance"}


def _blank(value: str | None) -> str | None:
    return value if value not in (None, "") else None


def form_to_body(form: FormData) -> dict[str, Any]:
    """The planning form as a CycleIn document (empty rows are dropped)."""
    injections = []
    rows = zip(form.getlist("muscle"), form.getlist("side"), form.getlist("units"),
               form.getlist("sites"), form.getlist("guidance"), strict=False)
    for muscle, side, units, sites, guidance in rows:
        if not str(muscle).strip() and not str(units).strip():
            continue
        injections.append({"muscle": muscle, "side": side, "units": _blank(str(units)),
                           "sites": _blank(str(sites)) or 1,
                           **({"guidance": guidance} if guidance else {})})
    vials = []
    for size, diluent, lot, expiry, recon in zip(
            form.getlist("vial_size"), form.getlist("vial_diluent"), form.getlist("vial_lot"),
            form.getlist("vial_expiry"), form.getlist("vial_reconstituted_at"), strict=False):
        if not str(size).strip():
            continue
        vial: dict[str, Any] = {"size_units": size}
        for key, value in (("diluent_ml", diluent), ("lot", lot), ("expiry", expiry),
                           ("reconstituted_at", recon)):
            if str(value).strip():
                vial[key] = value
        vials.append(vial)
    # one reason may cover several stops: each stop without its own reason takes the shared
    # one, and is still recorded as its own override
    shared = str(form.get("override_all") or "").strip()
    overrides: list[dict[str, str]] = []
    for c, r in zip(form.getlist("override_code"), form.getlist("override_reason"),
                    strict=False):
        reason = str(r).strip() or shared
        if reason and c not in {o["code"] for o in overrides}:
            overrides.append({"code": str(c), "reason": reason})
    body: dict[str, Any] = {
        "date": form.get("date") or None, "product": form.get("product") or "",
        "indication": form.get("indication") or "", "injections": injections,
        "vials": vials, "overrides": overrides,
        "consent_recorded": bool(form.get("consent_recorded")),
        "consent_text": form.get("consent_text") or "", "note": form.get("note") or "",
        "consent_topics": [str(t) for t in form.getlist("consent_topic")],
    }
    if _blank(str(form.get("weight_kg") or "")):
        body["weight_kg"] = form.get("weight_kg")
    if _blank(str(form.get("clinician_id") or "")):
        body["clinician_id"] = form.get("clinician_id")
    return body


def cycle_in(body: dict[str, Any], ref: Any, pediatric: bool | None, model: type[CycleIn]
             = CycleIn) -> CycleIn:
    """The form as the use case's input: the consent note is the leaflet's topics that
    were discussed (in the leaflet's cited words) and the clinician's own note."""
    doc = {k: v for k, v in body.items() if k != "consent_topics"}
    if body.get("consent_topics"):
        doc["consent_text"] = consent_text(ref, str(body["product"]), str(body["indication"]),
                                           body["consent_topics"], pediatric,
                                           str(body.get("consent_text") or ""))
    return model.model_validate(doc)


def row_namer(body: dict[str, Any], names: dict[str, str]) -> Any:
    """The muscle and side of an injection row, for an error message naming the row."""
    def name(kind: str, index: int) -> str:
        rows = body.get(kind) or []
        if kind != "injections" or index >= len(rows):
            return ""
        row = rows[index]
        muscle = names.get(str(row.get("muscle")), str(row.get("muscle") or "no muscle"))
        return f"{muscle.lower()}, {row.get('side')}"
    return name


def _form_state(body: dict[str, Any]) -> dict[str, Any]:
    """What the form shows again after a refused submission."""
    return {**body, "injections": body.get("injections") or [],
            "vials": (body.get("vials") or []) + [{}]}


def _context(request: Request, uow: Any, actor: Any, patient_id: int) -> dict[str, Any]:
    ref = state(request).ref
    patient = records.get_patient(uow, actor, patient_id)
    view = patient_view(patient)
    return {
        "actor": actor, "patient": view, "meds": medicines_context(ref, actor, view),
        "products": list(ref.products.values()), "indications": list(ref.indications.values()),
        "muscles": sorted(ref.muscles.values(), key=lambda m: m.name),
        "names": {m.id: m.name for m in ref.muscles.values()},
        **_map_context(ref),
        "clinicians": planning.clinicians(uow, actor),
        "last_weight": (patient.weights[-1].weight_kg if patient.weights else None),
        "pediatric": _pediatric(patient.birth_date),
        "consent_topics": CONSENT_TOPICS,
    }


def _map_context(ref: Any) -> dict[str, Any]:
    """The planner's body map: its points, zoom regions and searchable list."""
    paired = {m.id: m.paired for m in ref.muscles.values()}
    names = {m.id: m.name for m in ref.muscles.values()}
    pts = body_map.points(paired)
    return {"points": pts, "shapes": body_map.SHAPES, "regions": bodymap.region_views(pts),
            "choices": bodymap.choices(paired, names, pts)}


def _dose_map(request: Request, c: dict[str, Any],
              layout: body_map.Layout = "wide") -> body_map.DoseMap:
    """The record's dose map, drawn wide (screen, print) or stacked (a phone)."""
    ref = state(request).ref
    return body_map.dose_map(c["injections"], {m.id: m.paired for m in ref.muscles.values()},
                             {m.id: m.name for m in ref.muscles.values()}, layout)


def _pediatric(born: date) -> bool:
    return (given.today() - born).days // 365 < 18


def _consent(ref: Any, form: dict[str, Any], pediatric: bool) -> dict[str, list[str]]:
    return consent_points(ref, str(form.get("product")), str(form.get("indication")),
                          pediatric)


def _starting_plan(uow: Any, actor: Any, patient_id: int, blank: bool = False
                   ) -> tuple[dict[str, Any], str | None]:
    """Where the planner starts: the patient's last given (signed) cycle — product,
    indication, muscles, sides, units, sites and guidance — dated today; without one, the
    indication of the patient's condition. Drafts are plans, not a treatment to repeat.
    Returns the form and a sentence saying where it came from."""
    form: dict[str, Any] = {"date": given.today().isoformat(),
                            "product": "onabotulinumtoxinA",
                            "indication": "upper_limb_spasticity",
                            "injections": [], "vials": [{}]}
    conditions = planning.active_indications(uow, actor, patient_id)
    if conditions:
        form["indication"] = conditions[0]
    if blank:
        return form, None
    v = planning.last_given(uow, actor, patient_id)
    if v is not None:
        form.update(product=v["product"], indication=v["indication"],
                    injections=[{k: i[k] for k in FIELD_NAMES} for i in v["injections"]])
        return form, (f"Started from the cycle given on {v['date']} "
                      f"({v['product']} for {v['indication'].replace('_', ' ')}).")
    if conditions:
        return form, (f"No cycle given yet: started from the patient's condition "
                      f"({conditions[0].replace('_', ' ')}).")
    return form, None


def _pattern_groups(request: Request) -> list[tuple[str, list[Any]]]:
    """The patterns for the planner's "start from a pattern" select, by region."""
    by_region: dict[str, list[Any]] = {}
    for p in patterns_for(state(request).ref):
        by_region.setdefault(p.region, []).append(p)
    return list(by_region.items())


def _from_pattern(request: Request, form: dict[str, Any], pattern: str, side: str | None,
                  product: str | None, born: date, weight: Any) -> str:
    """Fill the form's rows from a pattern proposal (clinical.patterns): the lower end of
    each label range and the label's sites for the product; returns what the page says
    about it (muscles without a label dose, the check's stops)."""
    ref = state(request).ref
    p = ref.patterns.get(pattern)
    if p is None:
        raise PlanError("pattern", "pattern", f"unknown pattern {pattern!r}")
    pid = ref.product_id(product or "") or str(form["product"])
    indication = form["indication"] if form["indication"] in p.indications else p.indications[0]
    today = given.today()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    found = propose(ref, [pattern], pid, indication, age, weight, side or "left", today)
    form.update(product=pid, indication=indication, injections=[
        {"muscle": r.muscle, "side": r.side, "units": str(r.units), "sites": r.sites,
         "guidance": ""} for r in found.rows])
    said = [f"Started from the pattern \u201c{p.name}\u201d: the lower end of each "
            f"{ref.products[pid].brands[0]} label range and the label's sites; adjust "
            "within the range."]
    if found.not_proposed:
        said.append("Not proposed: " + "; ".join(
            f"{n.muscle_name} ({n.reason})" for n in found.not_proposed) + ".")
    said += [f"Stop: {s.message}" for s in found.stops]
    return " ".join(said)


def _plan_page(request: Request, patient_id: int, copy: str | None, pattern: str | None,
               side: str | None, product: str | None) -> Response:
    """The planner: from the last cycle given, empty, or a pattern (``pattern``)."""
    error = None
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        cycles.may_plan(uow, actor, patient_id)
        ctx = _context(request, uow, actor, patient_id)
        form, started = _starting_plan(uow, actor, patient_id,
                                       blank=copy == "none" or pattern is not None)
        born = records.get_patient(uow, actor, patient_id).birth_date
    if pattern is not None:
        try:
            started = _from_pattern(request, form, pattern, side, product, born,
                                    ctx["last_weight"])
        except PlanError as exc:
            error = plain_error(exc)
    chosen = {(i["muscle"], i["side"]) for i in form["injections"]}
    return render(request, "plan.html", form=form, check=None, chosen=chosen,
                  overrides={}, started=started, error=error,
                  pattern_groups=_pattern_groups(request), picked_pattern=pattern,
                  consent=_consent(state(request).ref, form, ctx["pediatric"]), **ctx)


def install_cycle_pages(app: FastAPI) -> None:
    @app.get("/patients/{patient_id}/cycles/new", include_in_schema=False)
    def plan_page(request: Request, patient_id: RecordId, copy: str | None = None,
                  pattern: str | None = None, side: str | None = None,
                  product: str | None = None) -> Response:
        return _plan_page(request, patient_id, copy, pattern, side, product)

    @app.post("/patients/{patient_id}/cycles/check", include_in_schema=False)
    async def live_check(request: Request, patient_id: RecordId,
                         exclude: RecordId | None = None) -> HTMLResponse:
        form = await request.form()
        check_csrf(request, str(form.get("csrf") or ""))
        return _check_fragment(request, patient_id, form, exclude)

    @app.post("/patients/{patient_id}/cycles", include_in_schema=False)
    async def record(request: Request, patient_id: RecordId) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf") or ""))
        return _record(request, patient_id, form)

    @app.get("/cycles/{cycle_id}", include_in_schema=False)
    def cycle_page(request: Request, cycle_id: RecordId) -> Response:
        with unit_of_work(request) as uow:
            actor = signed_in(request, uow)
            cyc = cycles.get_cycle(uow, actor, cycle_id)
            c, revisions = cycle_view(cyc), revision_views(cyc)
            patient = patient_view(records.get_patient(uow, actor, cyc.patient_id,
                                                       audit_read=False))
            people = _people(uow, actor, c, revisions)
            diary = (cycle_diary.cycle_diary(uow, actor, cycle_id)
                     if c["status"] == "signed" else None)
        return render(request, "cycle.html", actor=actor, c=c, revisions=revisions,
                      patient=patient, people=people, today=given.today().isoformat(),
                      names=_muscle_names(request), cycle_diary=diary,
                      dose_map=_dose_map(request, c),
                      dose_map_stacked=_dose_map(request, c, "stacked"))

    @app.get("/cycles/{cycle_id}/print", include_in_schema=False)
    def cycle_print(request: Request, cycle_id: RecordId) -> Response:
        with unit_of_work(request) as uow:
            actor = signed_in(request, uow)
            cyc = cycles.get_cycle(uow, actor, cycle_id)
            c = cycle_view(cyc)
            patient = patient_view(records.get_patient(uow, actor, cyc.patient_id,
                                                       audit_read=False))
            people = _people(uow, actor, c, [])
        return render(request, "cycle_print.html", actor=actor, c=c, patient=patient,
                      people=people, names=_muscle_names(request),
                      dose_map=_dose_map(request, c),
                      dose_map_stacked=_dose_map(request, c, "stacked"))

    @app.get("/cycles/{cycle_id}/amend", include_in_schema=False)
    def amend_page(request: Request, cycle_id: RecordId) -> Response:
        return _amend_page(request, cycle_id)

    @app.post("/cycles/{cycle_id}/amend", include_in_schema=False)
    async def amend(request: Request, cycle_id: RecordId) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf") or ""))
        return _amend(request, cycle_id, form)

    @app.post("/cycles/{cycle_id}/sign", include_in_schema=False)
    async def sign(request: Request, cycle_id: RecordId) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf") or ""))
        version = str(form.get("version") or "")
        with unit_of_work(request) as uow:
            actor = signed_in(request, uow)
            cycles.sign_cycle(uow, actor, cycle_id, SignIn(),
                              digits_value(version))
        return RedirectResponse(f"/cycles/{cycle_id}", status_code=303)


def _amend_page(request: Request, cycle_id: int) -> Response:
    """The planner filled with a signed cycle, to amend (clinicians only)."""
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        cyc = cycles.get_cycle(uow, actor, cycle_id, audit_read=False)
        if actor.role != "clinician":
            raise AccessDenied("only a clinician may amend a signed cycle",
                               entity="cycle", entity_id=cyc.id)
        c = cycle_view(cyc)
        ctx = _context(request, uow, actor, cyc.patient_id)
        form = _amend_form(c)
        ref = state(request).ref
        try:  # the stored overrides shown (and kept) beside their stops from the start
            check: dict[str, Any] | None = {"result": result_dict(cycles.check_only(
                uow, actor, cyc.patient_id, cycle_in({**form_state_doc(c)}, ref, None),
                ref, cyc.id), ref)}
        except (ValidationError, InvalidRecord, PlanError):
            check = None
    return render(request, "plan.html", form=form, check=check,
                  chosen={(i["muscle"], i["side"]) for i in form["injections"]},
                  overrides={o["code"]: o["reason"] for o in c["overrides"]},
                  amend=c, consent=_consent(state(request).ref, form, ctx["pediatric"]),
                  **ctx)


def _muscle_names(request: Request) -> dict[str, str]:
    return {m.id: m.name for m in state(request).ref.muscles.values()}


def _people(uow: Any, actor: Any, c: dict[str, Any], revisions: list[dict[str, Any]]
            ) -> dict[int, str]:
    """Who signed, overrode, amended and gives the injections, by name."""
    ids = {c["signed_by"], c["clinician_id"], *(o["clinician_id"] for o in c["overrides"]),
           *(r["changed_by"] for r in revisions)}
    return planning.user_names(uow, actor, ids)


def _amend_form(c: dict[str, Any]) -> dict[str, Any]:
    """A signed cycle as the planning form, to amend."""
    return {"date": c["date"], "product": c["product"], "indication": c["indication"],
            "weight_kg": c["weight_kg"], "injections": [
                {k: i[k] for k in FIELD_NAMES} for i in c["injections"]],
            "vials": [{**v, "reconstituted_at": (v["reconstituted_at"] or "")[:16]}
                      for v in c["vials"]] + [{}],
            "consent_recorded": c["consent_recorded"], "consent_text": c["consent_text"],
            "note": c["note"], "version": c["version"]}


def form_state_doc(c: dict[str, Any]) -> dict[str, Any]:
    """A stored cycle as a CycleIn document (to check it again)."""
    return {"date": c["date"], "product": c["product"], "indication": c["indication"],
            "injections": [{k: i[k] for k in FIELD_NAMES if i[k] is not None}
                           for i in c["injections"]],
            **({"weight_kg": c["weight_kg"]} if c["weight_kg"] is not None else {})}


def _amend(request: Request, cycle_id: int, form: FormData) -> Response:
    """Amend a signed cycle: the same form, a reason, the version read; the signed version
    is kept as a revision by the use case."""
    body = form_to_body(form)
    body["version"] = form.get("version") or None
    body["reason"] = form.get("reason") or ""
    ref = state(request).ref
    error = None
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        cyc = cycles.get_cycle(uow, actor, cycle_id, audit_read=False)
        c = cycle_view(cyc)
        ctx = _context(request, uow, actor, cyc.patient_id)
        try:
            doc = cycle_in(body, ref, ctx["pediatric"], AmendIn)
            cycles.amend_cycle(uow, actor, cycle_id, doc, None, ref)  # type: ignore[arg-type]
        except StopNotOverridden as err:
            error = ("Stop findings need a clinician's reason to go ahead: "
                     + "; ".join(str(f["message"]) for f in err.findings))
        except (ValidationError, InvalidRecord) as err:
            error = plain_error(err, row_namer(body, ctx["names"]))
    if error is None:
        return RedirectResponse(f"/cycles/{cycle_id}", status_code=303)
    filled = {**_form_state(body), "version": body["version"]}
    return render(request, "plan.html", 422, form=filled, check=None, error=error, amend=c,
                  chosen={(i.get("muscle"), i.get("side")) for i in filled["injections"]},
                  overrides={o["code"]: o["reason"] for o in body["overrides"]},
                  consent=_consent(ref, filled, ctx["pediatric"]), **ctx)


def _check_fragment(request: Request, patient_id: int, form: FormData,
                    exclude: int | None = None) -> HTMLResponse:
    body = form_to_body(form)
    overrides = {o["code"]: o["reason"] for o in body["overrides"]}
    check: dict[str, Any]
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        cycles.may_plan(uow, actor, patient_id)  # the patient's history is theirs: check first
        if not body["injections"]:
            check = {"error": "Add an injection: choose a muscle on the body map or with "
                              "'Add an injection'."}
        else:
            ref = state(request).ref
            try:
                result = cycles.check_only(uow, actor, patient_id,
                                           cycle_in(body, ref, None), ref, exclude)
                check = {"result": result_dict(result, ref)}
            except (ValidationError, InvalidRecord, PlanError) as err:
                names = {m.id: m.name for m in ref.muscles.values()}
                check = {"error": plain_error(err, row_namer(body, names))}
    return render(request, "_check.html", check=check, overrides=overrides,
                  shared=str(form.get("override_all") or ""))


def _record(request: Request, patient_id: int, form: FormData) -> Response:
    body = form_to_body(form)
    ref = state(request).ref
    error = None
    check = None
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        ctx = _context(request, uow, actor, patient_id)
        parsed: CycleIn | None = None
        try:
            parsed = cycle_in(body, ref, ctx["pediatric"])  # the form, parsed once
            cycle = cycles.record_cycle(uow, actor, patient_id, parsed, ref)
            new_id = cycle.id
        except StopNotOverridden as err:
            error = ("Stop findings need a clinician's override with a written reason: "
                     + "; ".join(str(f["message"]) for f in err.findings))
        except (ValidationError, InvalidRecord) as err:
            error = plain_error(err, row_namer(body, ctx["names"]))
        if error is not None and parsed is not None:
            try:  # show why: the same parsed plan, checked without recording
                result = cycles.check_only(uow, actor, patient_id, parsed, ref)
                check = {"result": result_dict(result, ref)}
            except InvalidRecord:
                check = None
    if error is None:
        return RedirectResponse(f"/cycles/{new_id}", status_code=303)
    filled = _form_state(body)
    return render(request, "plan.html", 422, form=filled, check=check, error=error,
                  chosen={(i.get("muscle"), i.get("side")) for i in filled["injections"]},
                  overrides={o["code"]: o["reason"] for o in body["overrides"]},
                  consent=_consent(ref, filled, ctx["pediatric"]), **ctx)
