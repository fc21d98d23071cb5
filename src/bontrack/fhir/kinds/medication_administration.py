"""MedicationAdministration: one injection (muscle x side) of a cycle: dose in product
units, the site with its laterality, route, sites, volume and guidance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bontrack.clinical.result import number
from bontrack.fhir import narrative
from bontrack.fhir.codes import (
    CS_GUIDANCE,
    CS_PRODUCT,
    GUIDANCE_SNOMED,
    GUIDANCE_TEXT,
    ROUTE_ID,
    ROUTE_IM,
    SNOMED,
    UCUM,
    code_in,
    coding,
    concept,
)
from bontrack.fhir.elements import Refusal, Skip, as_day, as_instant, as_ml, as_units, ext_value
from bontrack.fhir.kind import Kind
from bontrack.fhir.lines import columns, cycle_meta, dec, dumps, fixed, isoday, memo, num, text
from bontrack.fhir.mapping import (
    Context,
    Json,
    day,
    ext,
    meta,
    product_concept,
    quantity,
    ref,
    target_site,
    units,
    user_ref,
)
from bontrack.fhir.query import SUBJECT, SUBJECT_INCLUDES, Source, never
from bontrack.fhir.resolve import Reader, named
from bontrack.fhir.tables import CY, CYCLES, VIALS, Batch, RowSet, V, find, one
from bontrack.services import audit
from bontrack.services.given import today
from bontrack.store.models import Cycle, Injection

INJ = Injection.__table__
INJECTIONS = RowSet("injections", INJ, "cycle")


#: MedicationAdministration has no "preparation": a planned dose is not known to be given.
ADMINISTRATION_STATUS = {"signed": "completed", "entered_in_error": "entered-in-error",
                         "draft": "unknown"}


def _route(ctx: Context, muscle: str) -> Json:
    """Intradermal for skin regions (axillary hyperhidrosis), else intramuscular."""
    m = ctx.ref.muscles.get(muscle)
    route = ROUTE_ID if m is not None and m.kind == "skin_region" else ROUTE_IM
    return ctx.shared(("route", route), lambda: concept(coding(SNOMED, *route),
                                                        text=route[1]))


def _guidance(ctx: Context, guidance: str) -> Json:
    return ctx.shared(("guidance", guidance), lambda: _guidance_ext(guidance))


def _guidance_ext(guidance: str) -> Json:
    codings = [coding(CS_GUIDANCE, guidance, GUIDANCE_TEXT.get(guidance))]
    if guidance in GUIDANCE_SNOMED:
        codings.append(coding(SNOMED, *GUIDANCE_SNOMED[guidance]))
    return ext("guidance", valueCodeableConcept=concept(
        *codings, text=GUIDANCE_TEXT.get(guidance, guidance)))


def administration_common(ctx: Context, cy: Any, vial_id: int | None) -> Json:
    """The part every injection of one cycle shares (status, medication, patient,
    encounter, session, day, performer): built once per cycle."""
    out: Json = {"status": ADMINISTRATION_STATUS.get(cy.status, "unknown")}
    if vial_id is not None:
        out["medicationReference"] = ref("Medication", vial_id)
    else:
        out["medicationCodeableConcept"] = product_concept(ctx, cy.product)
    out.update(subject=ref("Patient", cy.patient_id), context=ref("Encounter", cy.id),
               partOf=[ref("Procedure", cy.id)], effectiveDateTime=day(cy.date),
               performer=[{"actor": user_ref(ctx, cy.clinician_id)}])
    return out


def medication_administration(ctx: Context, inj: Any, cy: Any, vial_id: int | None,
                              common: Json | None = None) -> Json:
    """One injection (muscle x side): dose in product units, the site with laterality."""
    extensions: list[Json] = [ext("injection-sites", valueInteger=inj.sites)]
    if inj.volume_ml is not None:
        extensions.append(ext("injected-volume",
                              valueQuantity=quantity(inj.volume_ml, "mL", "mL")))
    if inj.guidance:
        extensions.append(_guidance(ctx, inj.guidance))
    return {"resourceType": "MedicationAdministration", "id": str(inj.id),
            # an injection changes only with its cycle (amended as a whole): its version
            "meta": meta(cy.version, cy.updated_at), "extension": extensions,
            **(common if common is not None else administration_common(ctx, cy, vial_id)),
            "dosage": {"site": target_site(ctx, inj.muscle, inj.side),
                       "route": _route(ctx, inj.muscle), "dose": units(inj.units)}}


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for cy in batch.of(CYCLES, p.id):
        vials = batch.of(VIALS, cy.id)
        vial = vials[0].id if vials else None
        common = administration_common(ctx, cy, vial)
        for inj in batch.of(INJECTIONS, cy.id):
            yield medication_administration(ctx, inj, cy, vial, common)


_DOSE_TAIL = b',"unit":"U","system":' + text(UCUM) + b',"code":"[arb\'U]"}}}\n'
_VOLUME_URL = (b',{"url":' + text(ext("injected-volume")["url"])
               + b',"valueQuantity":{"value":')
_ML_TAIL = b',"unit":"mL","system":' + text(UCUM) + b',"code":"mL"}}'
#: an injection's line: its id, the cycle's meta, the sites, the optional volume and
#: guidance, the cycle's common part, the site and route, the dose
_INJECTION = (b'{"resourceType":"MedicationAdministration","id":"%d%b,"extension":[{"url":'
              + fixed(text(ext("injection-sites")["url"])) + b',"valueInteger":%d}%b%b]'
              + b"%b%b%b" + fixed(_DOSE_TAIL))
I_ID, I_MUSCLE, I_SIDE, I_UNITS, I_SITES, I_VOLUME, I_GUIDANCE = columns(
    INJ, "id", "muscle", "side", "units", "sites", "volume_ml", "guidance")
C_ID, C_STATUS, C_PRODUCT, C_PATIENT, C_DATE, C_CLINICIAN = columns(
    CY, "id", "status", "product", "patient_id", "date", "clinician_id")
V_ID = columns(V, "id")[0]
#: ``administration_common`` of a cycle: its status, the vial (or product), the patient,
#: the cycle (encounter, procedure), the day and the clinician
_COMMON = (b',"status":%b,%b,"subject":{"reference":"Patient/%d"},"context":{"reference":'
           b'"Encounter/%d"},"partOf":[{"reference":"Procedure/%d"}],"effectiveDateTime":'
           b'"%b","performer":[{"actor":%b}]')
_STATUS = {k: dumps(v) for k, v in ADMINISTRATION_STATUS.items()}


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces."""
    dosages, numbers, guides = memo(ctx, "dosage"), memo(ctx, "number"), memo(ctx, "guidance")
    volumes, users = memo(ctx, "volume"), memo(ctx, "user")
    for cy in batch.rows(CYCLES, patients):
        n, clinician = cy[C_ID], cy[C_CLINICIAN]
        injections = batch.of(INJECTIONS, n)
        if not injections:
            continue
        vials = batch.of(VIALS, n)
        common = _COMMON % (
            _STATUS.get(cy[C_STATUS]) or b'"unknown"',
            b'"medicationReference":{"reference":"Medication/%d"}' % vials[0][V_ID] if vials
            else b'"medicationCodeableConcept":' + dumps(product_concept(ctx, cy[C_PRODUCT])),
            cy[C_PATIENT], n, n, isoday(cy[C_DATE]),
            users.get(clinician) or users.setdefault(clinician,
                                                     dumps(user_ref(ctx, clinician))))
        head = cycle_meta(batch, cy)
        for inj in injections:
            volume, guidance, units = inj[I_VOLUME], inj[I_GUIDANCE], inj[I_UNITS]
            key = (inj[I_MUSCLE], inj[I_SIDE])
            yield _INJECTION % (
                inj[I_ID], head, inj[I_SITES],
                b"" if volume is None else volumes.get(str(volume)) or volumes.setdefault(
                    str(volume), _VOLUME_URL + num(volume) + _ML_TAIL),
                b"," + (guides.get(guidance) or guides.setdefault(
                    guidance, dumps(_guidance(ctx, guidance)))) if guidance else b"",
                common, dosages.get(key) or dosages.setdefault(key, (
                    b',"dosage":{"site":' + dumps(target_site(ctx, *key))
                    + b',"route":' + dumps(_route(ctx, key[0])) + b',"dose":{"value":')),
                dec(numbers, units))


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    inj = find(session, INJ, rid)
    if inj is None:
        return None
    cy = one(session, CY, inj.cycle_id)
    vial = session.scalar(select(V.c.id).where(V.c.cycle_id == cy.id)
                          .order_by(V.c.id).limit(1))
    return medication_administration(ctx, inj, cy, vial), cy.patient_id


def _product_code(system: str | None, code: str) -> ColumnElement[bool]:
    return CY.c.product == code if system in (None, CS_PRODUCT) else never()


def _cycle_of(reader: Reader, res: dict[str, Any]) -> str:
    for i, part in enumerate(res.get("partOf") or []):
        try:
            k = reader.target(part, "Procedure", f"partOf[{i}]")
        except Refusal:
            continue
        if k in reader.plan.cycles:
            return k
    enc = res.get("context") or res.get("encounter")
    if isinstance(enc, dict) and isinstance(enc.get("reference"), str):
        ekey = reader.target(enc, "Encounter", "context")
        for k, proc in ((k, reader.by_key[k]) for k in reader.plan.cycles):
            ref_ = (proc.get("encounter") or {}).get("reference", "")
            if ref_ and (reader.urls.get(ref_) or "/".join(ref_.split("/")[-2:])) == ekey:
                return k
    raise Refusal("partOf", "no imported Procedure (session) this injection belongs to")


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    pkey = reader.subject(res)
    try:
        ckey = _cycle_of(reader, res)
    except Refusal:
        if any(k.startswith("Procedure/") and k in reader.by_key for k in _part_of(reader, res)):
            raise  # its session is in the input but could not be read: its problems say why
        given_elsewhere(reader, key, pkey, res)
        return
    cy = reader.plan.cycles[ckey]
    reader.parts.setdefault(ckey, []).append(key)
    if res.get("medicationCodeableConcept"):
        product = reader.product(res["medicationCodeableConcept"],
                                 "medicationCodeableConcept")
        if cy.product and cy.product != product:
            raise Refusal("medicationCodeableConcept", f"{product} differs from the "
                          f"session's product {cy.product}")
        cy.product = product
    dosage = res.get("dosage") or {}
    muscle = reader.muscle(dosage.get("site"), "dosage.site")
    side = reader.side(dosage.get("site"), muscle, "dosage.site", required=True)
    if side not in ("left", "right", "midline"):
        raise Refusal("dosage.site.extension", f"an injection is on one side (left, right "
                      f"or midline), got {side!r}: record each side separately")
    dose = as_units(dosage.get("dose"), "dosage.dose")
    guidance_cc = ext_value(res, "guidance", "valueCodeableConcept")
    guidance = code_in(guidance_cc, CS_GUIDANCE)
    if guidance_cc and not guidance:
        snomed = code_in(guidance_cc, SNOMED)
        guidance = next((g for g, (c, _) in GUIDANCE_SNOMED.items() if c == snomed), None)
    volume = ext_value(res, "injected-volume", "valueQuantity")
    cy.injections.append(Injection(
        muscle=muscle, side=side, units=dose,
        sites=int(ext_value(res, "injection-sites", "valueInteger") or 1),
        volume_ml=as_ml(volume, "extension[injected-volume]") if volume else None,
        guidance=guidance))


def _part_of(reader: Reader, res: dict[str, Any]) -> list[str]:
    out = []
    for part in res.get("partOf") or []:
        raw = part.get("reference") if isinstance(part, dict) else None
        if isinstance(raw, str):
            out.append(reader.urls.get(raw) or "/".join(raw.rstrip("/").split("/")[-2:]))
    return out


def given_elsewhere(reader: Reader, key: str, pkey: str, res: dict[str, Any]) -> None:
    """A dose given by another service (urology's bladder injections from the EHR): a
    MedicationAdministration that belongs to no session (Procedure) of the input. Doses of
    one day, product and indication become one given cycle of this patient, marked as given
    elsewhere, so that the plan check counts them (cumulative limits, retreatment interval)
    like any cycle given. What cannot be counted safely is skipped and listed, never
    guessed: a product that cannot be identified (never counted under another product), a
    dose not in product units, no known indication or injection target, a dose not
    completed or dated after today."""
    status = res.get("status")
    if status != "completed":
        raise Skip("status", f"a {status!r} administration is not a dose given: not counted")
    when = res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start")
    try:
        day = as_day(when, "effectiveDateTime")
        at = as_instant(when, "effectiveDateTime") if len(str(when)) > 10 else None
    except Refusal as r:
        raise Skip(r.path, r.message) from None
    if day > today():
        raise Skip("effectiveDateTime", f"{day.isoformat()} is after today: a dose not yet "
                   "given is not counted")
    path = "medicationCodeableConcept"
    cc = res.get("medicationCodeableConcept")
    med_key = None
    if cc is None and isinstance(res.get("medicationReference"), dict):
        path = "medicationReference"
        try:
            med_key = reader.target(res["medicationReference"], "Medication", path)
            cc = reader.by_key[med_key].get("code")
        except Refusal:
            cc = res["medicationReference"].get("display")
            cc = {"text": cc} if isinstance(cc, str) else None
    try:
        product = reader.product(cc, path)
    except Refusal as r:
        raise Skip(r.path, f"{r.message}: a dose whose product cannot be identified is not "
                   "imported and never counted under another product") from None
    dosage = res.get("dosage") or {}
    try:
        dose = as_units(dosage.get("dose"), "dosage.dose")
        reasons = list(res.get("reasonCode") or [])
        for i, r_ in enumerate(res.get("reasonReference") or []):
            ckey = reader.target(r_, "Condition", f"reasonReference[{i}]")
            reasons.append(reader.by_key[ckey].get("code"))
        indication, _ = reader.indication(reasons, "reasonCode")
        muscle = reader.muscle(dosage.get("site"), "dosage.site")
        side = reader.side(dosage.get("site"), muscle, "dosage.site", required=True)
    except Refusal as r:
        raise Skip(r.path, f"{r.message}: this dose given elsewhere is not counted") from None
    if side not in ("left", "right", "midline"):
        raise Skip("dosage.site", f"one dose on {side!r} sides: bontrack records each side "
                   "separately; not counted")
    group = (pkey, day, product, indication)
    known = reader.elsewhere.get(group)
    if known is not None:
        ckey = known
        reader.parts[ckey].append(key)
    else:
        ckey = reader.elsewhere[group] = key
        now = audit.now()
        performer = (res.get("performer") or [{}])[0].get("actor")
        cy = Cycle(clinic_id=reader.actor.clinic_id, date=day, product=product,
                   indication=indication, clinician_id=reader.user(performer,
                                                                   f"{key} performer"),
                   weight_kg=None, total_units=Decimal(0), consent_recorded=False,
                   consent_text="", note="given by another service (imported)",
                   status="signed", verdict="imported", reference_version="not checked",
                   provenance="", version=1, created_by=reader.actor.user_id,
                   created_at=now, updated_at=now)
        reader.plan.cycles[ckey] = cy
        reader.plan.cycle_patient[ckey] = pkey
        reader.plan.children[pkey].append((ckey, cy, None))
        reader.parts[ckey] = []
    cy = reader.plan.cycles[ckey]
    if med_key:
        reader.parts[ckey].append(med_key)
    who = named(reader.person((res.get("performer") or [{}])[0].get("actor")))
    line = (f"given elsewhere ({reader.origin(res)}, {key}) by {who}"
            + (f" at {at.isoformat()}" if at else f" on {day.isoformat()}")
            + f": {number(dose)} U {product}")
    cy.provenance = "\n".join(filter(None, [cy.provenance, line]))
    cy.injections.append(Injection(muscle=muscle, side=side, units=dose, sites=1,
                                   volume_ml=None, guidance=None))


def cycle_of(session: Session, resource: Json) -> int | None:
    part = (resource.get("partOf") or [{}])[0].get("reference", "")
    return int(part.rsplit("/", 1)[1]) if part.startswith("Procedure/") else None


KIND = Kind(
    name="MedicationAdministration", store=(Injection,), rows=(CYCLES, VIALS, INJECTIONS),
    export=export, fetch=fetch, read=read, after=("Patient", "Procedure"), cycle_of=cycle_of,
    sources=(Source(INJ, CY.c.patient_id, CY.c.date, _product_code, join=CY,
                    updated=CY.c.updated_at),),
    includes={**SUBJECT_INCLUDES, "context": ("context", "Encounter"),
              "medication": ("medicationReference", "Medication")},
    params={**SUBJECT, "date": "date", "effective-time": "date", "code": "token"},
    lines=lines,
    narrative=narrative.administration,
)
