"""Records as FHIR R4 resources: pure functions from stored rows to JSON-ready dicts.

Rows may be ORM objects or SQLAlchemy Core rows (attribute access by column name), so the
bulk export can stream plain tuples. Nothing here touches the database; ``Context`` carries
the reference data and the user names that references display. docs/fhir.md has the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from bontrack.clinical.display import scale_text
from bontrack.clinical.result import number
from bontrack.clinical.scales import SCALES
from bontrack.fhir.codes import (
    AE_OUTCOME,
    AE_OUTCOMES,
    AE_SERIOUS,
    AE_SERIOUSNESS,
    AE_SEVERITY,
    COND_CLINICAL,
    COND_VERIFICATION,
    CS_GUIDANCE,
    CS_INDICATION,
    CS_MAS,
    CS_MUSCLE,
    CS_OBSERVATION,
    CS_OUTCOME,
    CS_PROCEDURE,
    CS_PRODUCT,
    CS_RELATEDNESS,
    CS_SIDE,
    DIARY_QUESTIONNAIRE,
    EXT,
    GUIDANCE_SNOMED,
    GUIDANCE_TEXT,
    ICD10CM,
    LATERALITY,
    MRN_SYSTEM,
    OBS_CATEGORY,
    ROUTE_ID,
    ROUTE_IM,
    RXNORM,
    SCALE_SNOMED,
    SCALE_UNIT,
    SNOMED,
    SURVEY_SCALES,
    UCUM,
    UNITS,
    USER_SYSTEM,
    V3_ACT,
    coding,
    concept,
)
from bontrack.reference import Reference

Json = dict[str, Any]

T = TypeVar("T")


@dataclass
class Context:
    """What the mapping needs beyond the row: reference data and who the users are.

    The concepts that repeat across resources (a muscle with its side, a product, a user)
    are built once and shared: resources are serialised, never changed in place, so the
    sharing is safe and saves most of the mapping time of a bulk export."""

    ref: Reference
    users: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # id -> (login, name)
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def shared(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        """The concept under ``key``, built by ``build`` the first time it is asked for."""
        try:
            hit: T = self.cache[key]
        except KeyError:
            hit = self.cache[key] = build()
        return hit


def instant(value: datetime) -> str:
    """A FHIR dateTime with a zone. Stored times without a zone (SQLite) are UTC."""
    if value.tzinfo is None:
        return value.isoformat() + "+00:00"
    return value.astimezone(UTC).isoformat()


def day(value: date) -> str:
    return value.isoformat()


def quantity(value: Decimal, unit: str, code: str) -> Json:
    return {"value": number(value), "unit": unit, "system": UCUM, "code": code}


def units(value: Decimal) -> Json:
    return {"value": number(value), **UNITS}


def ref(kind: str, rid: int | str) -> Json:
    return {"reference": f"{kind}/{rid}"}


def user_ref(ctx: Context, user_id: int | None) -> Json:
    """A user as a logical reference (login name), so another system can match people
    without our internal ids."""
    return ctx.shared(("user", user_id), lambda: _user_ref(ctx, user_id))


def _user_ref(ctx: Context, user_id: int | None) -> Json:
    if user_id is None:
        return {"display": "unknown"}
    login, name = ctx.users.get(user_id, (f"user-{user_id}", f"user {user_id}"))
    return {"type": "Practitioner", "identifier": {"system": USER_SYSTEM, "value": login},
            "display": name}


def recorded_by(ctx: Context, user_id: int | None) -> Json:
    return ctx.shared(("recorded-by", user_id),
                      lambda: ext("recorded-by", valueReference=user_ref(ctx, user_id)))


def ext(name: str, **value: Any) -> Json:
    return {"url": EXT[name], **value}


def status_ext(status: str) -> Json:
    return ext("record-status", valueCode=status)


def side_ext(side: str | None) -> list[Json]:
    if not side:
        return []
    if side in LATERALITY:
        code, display = LATERALITY[side]
        return [ext("laterality", valueCodeableConcept=concept(coding(SNOMED, code, display)))]
    return [ext("laterality", valueCodeableConcept=concept(coding(CS_SIDE, side, side)))]


def target_site(ctx: Context, muscle: str, side: str | None) -> Json:
    """A muscle (or gland, skin region) with its SNOMED CT structure where verified, and the
    laterality as an extension (pattern of mCODE's laterality qualifier)."""
    return ctx.shared(("site", muscle, side), lambda: _target_site(ctx, muscle, side))


def _target_site(ctx: Context, muscle: str, side: str | None) -> Json:
    m = ctx.ref.muscles.get(muscle)
    codings = [coding(CS_MUSCLE, muscle, m.name if m else None)]
    if m is not None and m.snomed is not None:
        codings.append(coding(SNOMED, m.snomed.code, m.snomed.display))
    out = concept(*codings, text=m.name if m else muscle)
    extensions = side_ext(side)
    if extensions:
        out = {"extension": extensions, **out}
    return out


def indication_concept(ctx: Context, indication: str, icd10cm: str | None = None) -> Json:
    return ctx.shared(("indication", indication, icd10cm),
                      lambda: _indication_concept(ctx, indication, icd10cm))


def _indication_concept(ctx: Context, indication: str, icd10cm: str | None) -> Json:
    ind = ctx.ref.indications.get(indication)
    codings = [coding(CS_INDICATION, indication, ind.name if ind else None)]
    if icd10cm:
        display = next((c.display for c in (ind.icd10cm if ind else []) if c.code == icd10cm),
                       None)
        codings.append(coding(ICD10CM, icd10cm, display))
    return concept(*codings, text=ind.name if ind else indication)


def product_concept(ctx: Context, product: str) -> Json:
    return ctx.shared(("product", product), lambda: _product_concept(ctx, product))


def _product_concept(ctx: Context, product: str) -> Json:
    p = ctx.ref.products.get(product)
    codings = [coding(CS_PRODUCT, product, product)]
    if p is not None:
        codings += [coding(RXNORM, r.code, r.display) for r in p.rxnorm]
    text = f"{product} ({', '.join(p.brands)})" if p else product
    return concept(*codings, text=text)


# -- resources -----------------------------------------------------------------------------


def patient(ctx: Context, p: Any, clinic: str | None = None) -> Json:
    out: Json = {"resourceType": "Patient", "id": str(p.id)}
    extensions: list[Json] = []
    if p.status != "active":
        extensions.append(status_ext(p.status))
    extensions += [ext("condition-flag", valueCode=f) for f in (p.flags or [])]
    extensions += [ext("medication-name", valueString=m) for m in (p.medications or [])]
    if extensions:
        out["extension"] = extensions
    identifier: Json = {"system": MRN_SYSTEM, "value": p.mrn}
    if clinic:
        identifier["assigner"] = {"display": clinic}
    out.update(identifier=[identifier], active=p.status == "active",
               name=[{"text": p.display_name}], gender=p.sex, birthDate=day(p.birth_date))
    return out


def weight(ctx: Context, w: Any) -> Json:
    return {
        "resourceType": "Observation", "id": f"weight-{w.id}",
        "extension": [recorded_by(ctx, w.recorded_by)],
        "status": "final",
        "category": [concept(coding(OBS_CATEGORY, "vital-signs", "Vital Signs"))],
        "code": concept(coding(CS_OBSERVATION, "body-weight", "Body weight"),
                        text="Body weight"),
        "subject": ref("Patient", w.patient_id),
        "effectiveDateTime": day(w.measured_on),
        "valueQuantity": quantity(w.weight_kg, "kg", "kg"),
    }


def condition(ctx: Context, c: Any) -> Json:
    out: Json = {"resourceType": "Condition", "id": str(c.id)}
    if c.affected_side:
        out["extension"] = [ext("affected-side", valueCode=c.affected_side)]
    error = c.status == "entered_in_error"
    if not error:
        out["clinicalStatus"] = concept(coding(COND_CLINICAL, "active", "Active"))
    out["verificationStatus"] = concept(
        coding(COND_VERIFICATION, "entered-in-error", "Entered in Error") if error
        else coding(COND_VERIFICATION, "confirmed", "Confirmed"))
    out["code"] = indication_concept(ctx, c.indication, c.icd10cm)
    out["subject"] = ref("Patient", c.patient_id)
    if c.onset_date:
        out["onsetDateTime"] = day(c.onset_date)
    out["recordedDate"] = instant(c.created_at)
    if c.note:
        out["note"] = [{"text": c.note}]
    return out


def encounter(ctx: Context, cy: Any) -> Json:
    return {
        "resourceType": "Encounter", "id": str(cy.id),
        "status": "entered-in-error" if cy.status == "entered_in_error" else "finished",
        "class": coding(V3_ACT, "AMB", "ambulatory"),
        "subject": ref("Patient", cy.patient_id),
        "participant": [{"individual": user_ref(ctx, cy.clinician_id)}],
        "period": {"start": day(cy.date), "end": day(cy.date)},
        "reasonCode": [indication_concept(ctx, cy.indication)],
    }


def _finding(f: Any) -> Json:
    parts: list[Json] = [{"url": "code", "valueCode": f.code},
                         {"url": "severity", "valueCode": f.severity},
                         {"url": "message", "valueString": f.message}]
    for name in ("value", "limit"):
        v = getattr(f, name)
        if v is not None:
            parts.append({"url": name, "valueDecimal": number(v)})
    for name in ("unit", "muscle", "side", "source"):
        v = getattr(f, name)
        if v:
            parts.append({"url": name, "valueString": v})
    return ext("finding", extension=parts)


#: FHIR status of a cycle: only a signed cycle was given ("completed"); a draft is a plan.
PROCEDURE_STATUS = {"signed": "completed", "entered_in_error": "entered-in-error",
                    "draft": "preparation"}
#: MedicationAdministration has no "preparation": a planned dose is not known to be given.
ADMINISTRATION_STATUS = {"signed": "completed", "entered_in_error": "entered-in-error",
                         "draft": "unknown"}


def procedure(ctx: Context, cy: Any, vial_ids: Sequence[int], findings: Iterable[Any],
              overrides: Iterable[Any]) -> Json:
    """The injection session. The plan check as it was (verdict, reference version,
    findings), the overrides with their written reasons and the signature ride along as
    extensions, so nothing the safety record holds is lost in transit."""
    check: list[Json] = [{"url": "verdict", "valueCode": cy.verdict},
                         {"url": "reference-version", "valueString": cy.reference_version}]
    if cy.next_earliest_date:
        check.append({"url": "next-earliest-date", "valueDate": day(cy.next_earliest_date)})
    extensions: list[Json] = [
        status_ext(cy.status),
        ext("cycle-version", valueInteger=cy.version),
        ext("plan-check", extension=check),
        ext("total-units", valueQuantity=units(cy.total_units)),
    ]
    if cy.weight_kg is not None:
        extensions.append(ext("weight-kg", valueQuantity=quantity(cy.weight_kg, "kg", "kg")))
    consent: list[Json] = [{"url": "recorded", "valueBoolean": bool(cy.consent_recorded)}]
    if cy.consent_text:
        consent.append({"url": "text", "valueString": cy.consent_text})
    extensions.append(ext("consent", extension=consent))
    if cy.signed_by is not None and cy.signed_at is not None:
        extensions.append(ext("signature", extension=[
            {"url": "by", "valueReference": user_ref(ctx, cy.signed_by)},
            {"url": "at", "valueDateTime": instant(cy.signed_at)}]))
    extensions += [_finding(f) for f in findings]
    extensions += [ext("override", extension=[
        {"url": "code", "valueCode": o.code},
        {"url": "reason", "valueString": o.reason},
        {"url": "by", "valueReference": user_ref(ctx, o.clinician_id)},
        {"url": "at", "valueDateTime": instant(o.created_at)}]) for o in overrides]
    extensions.append(recorded_by(ctx, cy.created_by))
    out: Json = {
        "resourceType": "Procedure", "id": str(cy.id), "extension": extensions,
        # planned is not given: a draft is a session in preparation, never "completed"
        "status": PROCEDURE_STATUS.get(cy.status, "unknown"),
        "code": concept(coding(CS_PROCEDURE, "bont-injection-session",
                               "Botulinum toxin injection session"),
                        text="Botulinum toxin injection session"),
        "subject": ref("Patient", cy.patient_id),
        "encounter": ref("Encounter", cy.id),
        "performedDateTime": day(cy.date),
        "performer": [{"actor": user_ref(ctx, cy.clinician_id)}],
        "reasonCode": [indication_concept(ctx, cy.indication)],
    }
    if cy.note:
        out["note"] = [{"text": cy.note}]
    if vial_ids:
        out["usedReference"] = [ref("Medication", v) for v in vial_ids]
    else:
        out["usedCode"] = [product_concept(ctx, cy.product)]
    return out


def medication(ctx: Context, v: Any, product: str) -> Json:
    """One vial: the product, its lot and expiry, and the dilution as strength."""
    extensions: list[Json] = [ext("vial-size", valueQuantity=units(v.size_units)),
                              recorded_by(ctx, v.recorded_by)]
    if v.reconstituted_at is not None:
        extensions.append(ext("reconstituted-at", valueDateTime=instant(v.reconstituted_at)))
    if v.units_discarded is not None:
        extensions.append(ext("units-discarded", valueQuantity=units(v.units_discarded)))
    code = product_concept(ctx, product)
    out: Json = {"resourceType": "Medication", "id": str(v.id), "extension": extensions,
                 "code": code}
    if v.diluent_ml is not None:
        out["ingredient"] = [{"itemCodeableConcept": code, "isActive": True, "strength": {
            "numerator": units(v.size_units),
            "denominator": quantity(v.diluent_ml, "mL", "mL")}}]
    batch: Json = {}
    if v.lot:
        batch["lotNumber"] = v.lot
    if v.expiry:
        batch["expirationDate"] = day(v.expiry)
    if batch:
        out["batch"] = batch
    return out


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
            "extension": extensions,
            **(common if common is not None else administration_common(ctx, cy, vial_id)),
            "dosage": {"site": target_site(ctx, inj.muscle, inj.side),
                       "route": _route(ctx, inj.muscle), "dose": units(inj.units)}}


def _scale(ctx: Context, scale_id: str) -> tuple[list[Json], Json]:
    """(category, code) of an outcome scale."""
    return ctx.shared(("scale", scale_id), lambda: _scale_concepts(scale_id))


def _scale_concepts(scale_id: str) -> tuple[list[Json], Json]:
    scale = SCALES.get(scale_id)
    name = scale.name if scale else scale_id
    codings = [coding(CS_OUTCOME, scale_id, name)]
    if scale_id in SCALE_SNOMED:
        codings.append(coding(SNOMED, *SCALE_SNOMED[scale_id]))
    category = "survey" if scale_id in SURVEY_SCALES else "exam"
    return ([concept(coding(OBS_CATEGORY, category, category.title()))],
            concept(*codings, text=name))


def observation(ctx: Context, o: Any) -> Json:
    """An outcome measurement: SNOMED CT scale concept where verified, else our code."""
    category, code = _scale(ctx, o.scale)
    extensions = [recorded_by(ctx, o.recorded_by)]
    if o.region:
        extensions.append(ext("region", valueString=o.region))
    out: Json = {
        "resourceType": "Observation", "id": str(o.id), "extension": extensions,
        "status": "entered-in-error" if o.status == "entered_in_error" else "final",
        "category": category, "code": code, "subject": ref("Patient", o.patient_id),
    }
    if o.cycle_id is not None:
        out["partOf"] = [ref("Procedure", o.cycle_id)]
    out["effectiveDateTime"] = instant(o.measured_at)
    if o.scale == "modified_ashworth":
        # the grade as the scale writes it ("1+"), from the stored value, whatever the text
        grade = scale_text(o.scale, o.value) if o.value is not None else o.value_text
        out["valueCodeableConcept"] = ctx.shared(("mas", grade), lambda: concept(
            coding(CS_MAS, grade, grade), text=grade))
    else:
        unit, display = SCALE_UNIT.get(o.scale, ("{score}", "score"))
        out["valueQuantity"] = quantity(o.value, display, unit)
    if o.muscle:
        out["bodySite"] = target_site(ctx, o.muscle, o.side)
    elif o.side:
        out["bodySite"] = {"extension": side_ext(o.side), "text": o.side}
    return out


def goal(ctx: Context, g: Any) -> Json:
    """A personal goal for Goal Attainment Scaling; its weight and attained level (-2..+2)
    ride as extensions (no core element holds a GAS level)."""
    extensions = [ext("gas-weight", valueInteger=g.weight)]
    if g.attainment is not None:
        extensions.append(ext("gas-attainment", valueInteger=g.attainment))
    out: Json = {
        "resourceType": "Goal", "id": str(g.id), "extension": extensions,
        "lifecycleStatus": "entered-in-error" if g.status == "entered_in_error" else "active",
        "description": {"text": g.description},
        "subject": ref("Patient", g.patient_id),
        "expressedBy": user_ref(ctx, g.created_by),
    }
    if g.target_date:
        out["target"] = [{"dueDate": day(g.target_date)}]
    return out


def adverse_event(ctx: Context, se: Any) -> Json:
    extensions: list[Json] = []
    if se.status != "active":
        extensions.append(status_ext(se.status))
    extensions.append(ext("relatedness", valueCodeableConcept=concept(
        coding(CS_RELATEDNESS, se.relatedness, se.relatedness.replace("_", " ")))))
    extensions += [ext("red-flag", valueCode=f) for f in (se.red_flags or [])]
    out: Json = {
        "resourceType": "AdverseEvent", "id": str(se.id), "extension": extensions,
        "actuality": "actual",
        "event": {"text": se.term},
        "subject": ref("Patient", se.patient_id),
        "date": day(se.onset),
        "recordedDate": instant(se.reported_at),
        "recorder": user_ref(ctx, se.reported_by),
        "seriousness": concept(coding(AE_SERIOUSNESS, *AE_SERIOUS[bool(se.serious)])),
        "severity": concept(coding(AE_SEVERITY, se.severity, se.severity.title())),
        "outcome": concept(coding(AE_OUTCOME, AE_OUTCOMES.get(se.outcome, "unknown"))),
    }
    if se.cycle_id is not None:
        out["suspectEntity"] = [{"instance": ref("Procedure", se.cycle_id)}]
    return out


DIARY_ITEMS = (("spasm_frequency", "spasm-frequency", "Spasm frequency (Penn, 0-4)"),
               ("spasm_intensity", "spasm-intensity", "Spasm intensity (0-3)"),
               ("pain", "pain", "Pain (0-10)"))


def questionnaire_response(ctx: Context, d: Any) -> Json:
    """A patient diary entry: the patient's own answers, as they gave them."""
    items: list[Json] = [{"linkId": "entry-date", "text": "Day",
                          "answer": [{"valueDate": day(d.entry_date)}]}]
    for attr, link, text in DIARY_ITEMS:
        v = getattr(d, attr)
        if v is not None:
            items.append({"linkId": link, "text": text, "answer": [{"valueInteger": v}]})
    for attr, link, text in (("side_effects", "side-effects", "Side effects"),
                             ("note", "note", "Note")):
        v = getattr(d, attr)
        if v:
            items.append({"linkId": link, "text": text, "answer": [{"valueString": v}]})
    return {
        "resourceType": "QuestionnaireResponse", "id": str(d.id),
        "questionnaire": DIARY_QUESTIONNAIRE,
        "status": "entered-in-error" if d.status == "entered_in_error" else "completed",
        "subject": ref("Patient", d.patient_id),
        "authored": instant(d.created_at),
        "author": user_ref(ctx, d.created_by),
        "item": items,
    }

