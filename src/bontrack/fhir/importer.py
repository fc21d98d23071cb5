"""Import FHIR R4 into the record store: ours (round trip) or another system's resources of
the same types. Two passes: every resource is read into unsaved rows and every problem is
collected; only if there is none are the rows written, in the caller's one transaction,
each with an ``import`` audit event naming its source. Nothing is half-imported.

Imported cycles keep the status they had at the source. A cycle from bontrack keeps its
plan-check verdict, reference-data version, findings, overrides and signature exactly; a
cycle from another system (no plan-check extension) becomes a signed historical record with
verdict ``imported`` and reference version ``not checked``, signed by the importing user at
import time, the source recorded in the audit trail. The plan check is not re-run on
imported history: it describes a decision already taken elsewhere.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.clinical.scales import ScaleError, read_value
from bontrack.fhir.codes import (
    AE_OUTCOMES,
    CS_GUIDANCE,
    CS_INDICATION,
    CS_MAS,
    CS_MUSCLE,
    CS_OBSERVATION,
    CS_OUTCOME,
    CS_PRODUCT,
    CS_RELATEDNESS,
    CS_SIDE,
    DIARY_QUESTIONNAIRE,
    EXT,
    GUIDANCE_SNOMED,
    ICD10CM,
    LATERALITY,
    MRN_SYSTEM,
    SNOMED,
    USER_SYSTEM,
    code_in,
)
from bontrack.fhir.elements import (
    Refusal,
    as_day,
    as_decimal,
    as_instant,
    as_ml,
    as_units,
    ext_all,
    ext_value,
    parts,
    shown,
)
from bontrack.fhir.reading import ImportRefused, Item, Problem, check_models
from bontrack.fhir.writing import Imported, Plan, write
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import Actor, require_role
from bontrack.services.given import today
from bontrack.services.triage import triage_texts
from bontrack.store.models import (
    Condition,
    Cycle,
    CycleFinding,
    DiaryEntry,
    Goal,
    Injection,
    Outcome,
    Override,
    Patient,
    SideEffect,
    User,
    Vial,
    Weight,
)

SIDE_BY_SNOMED = {code: side for side, (code, _) in LATERALITY.items()}
AE_OUTCOME_BACK = {v: k for k, v in AE_OUTCOMES.items()}


class Reader:
    """Maps resources to rows, collecting problems."""

    def __init__(self, session: Session, actor: Actor, ref: Reference, items: list[Item]):
        self.s = session
        self.actor = actor
        self.ref = ref
        self.problems: list[Problem] = []
        self.by_key = {it.key: it.resource for it in items}
        self.urls = {it.full_url: it.key for it in items if it.full_url}
        self.items = items
        self.users = {u.username: u for u in session.scalars(
            select(User).where(User.clinic_id == actor.clinic_id))}
        self.unmatched: dict[str, str] = {}
        self.plan = Plan()
        self._used: dict[str, str] = {}  # Medication key -> the Procedure using it

    # -- helpers ---------------------------------------------------------------------------
    def target(self, reference: Any, kind: str, path: str) -> str:
        """The key (Type/id) of a resource in the input that ``reference`` points to."""
        raw = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(raw, str):
            raise Refusal(path, f"needs a reference to a {kind}")
        key = self.urls.get(raw) or "/".join(raw.rstrip("/").split("/")[-2:])
        if not key.startswith(f"{kind}/") or key not in self.by_key:
            raise Refusal(path, f"{raw!r} is not a {kind} in this input")
        return key

    def user(self, reference: Any, source: str) -> int:
        """A person by login name if they have an account in this clinic; otherwise the
        importing user, and the source's name is kept for the audit trail."""
        ident = reference.get("identifier") if isinstance(reference, dict) else None
        if isinstance(ident, dict) and ident.get("system") == USER_SYSTEM:
            u = self.users.get(str(ident.get("value")))
            if u is not None:
                return u.id
        shown = (reference or {}).get("display") if isinstance(reference, dict) else None
        self.unmatched[source] = str(shown or "unknown")
        return self.actor.user_id

    def muscle(self, cc: Any, path: str) -> str:
        code = code_in(cc, CS_MUSCLE)
        if code and code in self.ref.muscles:
            return code
        snomed = code_in(cc, SNOMED)
        if snomed:
            hits = [m.id for m in self.ref.muscles.values()
                    if m.snomed is not None and m.snomed.code == snomed]
            if len(hits) == 1:
                return hits[0]
        for text in [(cc or {}).get("text")] + [c.get("display") for c in
                                                 (cc or {}).get("coding") or []]:
            if isinstance(text, str) and self.ref.muscle_id(text):
                return str(self.ref.muscle_id(text))
        raise Refusal(path, f"no known injection target for {shown(cc)}; use a bontrack "
                      "injection-target code, a SNOMED CT structure code in the reference "
                      "data, or the muscle's name")

    def side(self, cc: Any, muscle: str | None, path: str, required: bool) -> str | None:
        lat = next((e.get("valueCodeableConcept") for e in (cc or {}).get("extension") or []
                    if e.get("url") == EXT["laterality"]), None)
        side = SIDE_BY_SNOMED.get(code_in(lat, SNOMED) or "") or code_in(lat, CS_SIDE)
        if side:
            return side
        m = self.ref.muscles.get(muscle or "")
        if m is not None and not m.paired:
            return "midline"
        if required:
            raise Refusal(f"{path}.extension", "the side (laterality Left/Right) is "
                          f"missing for a paired target {muscle!r}")
        return None

    def indication(self, concepts: list[Any], path: str) -> tuple[str, str | None]:
        icd = None
        for cc in concepts:
            icd = icd or code_in(cc, ICD10CM)
            code = code_in(cc, CS_INDICATION)
            if code and code in self.ref.indications:
                return code, icd
        if icd:
            hits = [i.id for i in self.ref.indications.values()
                    if any(c.code == icd for c in i.icd10cm)]
            if len(hits) == 1:
                return hits[0], icd
            if hits:
                raise Refusal(path, f"ICD-10-CM {icd} fits several indications "
                              f"({', '.join(hits)}); add a bontrack indication coding")
        for cc in concepts:
            for text in [(cc or {}).get("text")] + [c.get("display") for c in
                                                     (cc or {}).get("coding") or []]:
                if isinstance(text, str) and self.ref.indication_id(text):
                    return str(self.ref.indication_id(text)), icd
        shown = ", ".join(shown(c) for c in concepts) or "nothing"
        raise Refusal(path, f"no known indication in {shown}")

    def product(self, cc: Any, path: str) -> str:
        code = code_in(cc, CS_PRODUCT)
        if code and code in self.ref.products:
            return code
        for text in [(cc or {}).get("text")] + [c.get("display") for c in
                                                 (cc or {}).get("coding") or []]:
            if isinstance(text, str):
                found = self.ref.product_id(text) or self.ref.product_id(text.split(" ")[0])
                if found:
                    return found
        raise Refusal(path, f"no known botulinum toxin product in {shown(cc)}")

    # -- pass ------------------------------------------------------------------------------
    def run(self) -> Plan:
        order = ("Patient", "Condition", "Encounter", "Procedure", "Medication",
                 "MedicationAdministration", "Observation", "Goal", "AdverseEvent",
                 "QuestionnaireResponse")
        for kind in order:
            for it in self.items:
                if it.resource.get("resourceType") != kind:
                    continue
                try:
                    getattr(self, f"_{kind.lower()}")(it.key, it.resource)
                except Refusal as r:
                    self.problems.append(Problem(it.key, r.path, r.message))
        return self.plan

    def _subject(self, key: str, res: dict[str, Any], element: str = "subject") -> str:
        pkey = self.target(res.get(element), "Patient", element)
        if pkey not in dict(self.plan.patients):
            raise Refusal(element, f"{pkey} could not be imported (see its problems)")
        return pkey

    def _patient(self, key: str, res: dict[str, Any]) -> None:
        idents = res.get("identifier") or []
        mrn = next((i.get("value") for i in idents if i.get("system") == MRN_SYSTEM), None)
        mrn = mrn or next((i.get("value") for i in idents if i.get("value")), None)
        if not mrn:
            raise Refusal("identifier", "no identifier to keep as the MRN")
        names = res.get("name") or [{}]
        display = names[0].get("text") or " ".join(
            [*(names[0].get("given") or []), names[0].get("family") or ""]).strip()
        if not display:
            raise Refusal("name", "the patient needs a name")
        if res.get("gender", "unknown") not in ("female", "male", "other", "unknown"):
            raise Refusal("gender", f"{res.get('gender')!r} is not female, male, other or "
                          "unknown")
        if not res.get("birthDate"):
            raise Refusal("birthDate", "the birth date is needed (doses depend on age)")
        flags = []
        for i, e in enumerate(ext_all(res, "condition-flag")):
            cid = self.ref.condition_id(str(e.get("valueCode")))
            if cid is None:
                raise Refusal(f"extension[condition-flag][{i}]",
                              f"unknown condition flag {e.get('valueCode')!r}")
            flags.append(cid)
        exists = self.s.scalar(select(Patient.id).where(
            Patient.clinic_id == self.actor.clinic_id, Patient.mrn == mrn))
        if exists is not None or mrn in {p.mrn for _, p in self.plan.patients}:
            raise Refusal("identifier", f"MRN {mrn!r} is already used in this clinic")
        now = audit.now()
        status = ext_value(res, "record-status", "valueCode") or "active"
        self.plan.patients.append((key, Patient(
            clinic_id=self.actor.clinic_id, mrn=str(mrn)[:64], display_name=display[:200],
            birth_date=as_day(res["birthDate"], "birthDate"), sex=res.get("gender", "unknown"),
            flags=flags, medications=[str(e.get("valueString")).lower()
                                      for e in ext_all(res, "medication-name")],
            status=status if status in ("active", "entered_in_error") else "active",
            version=1, created_at=now, updated_at=now)))

    def _condition(self, key: str, res: dict[str, Any]) -> None:
        pkey = self._subject(key, res)
        ind, icd = self.indication([res.get("code")], "code")
        ver = code_in(res.get("verificationStatus"), "http://terminology.hl7.org/CodeSystem/"
                      "condition-ver-status")
        note = " ".join(n.get("text", "") for n in res.get("note") or [])
        c = Condition(indication=ind, icd10cm=icd, affected_side=ext_value(
            res, "affected-side", "valueCode"), onset_date=as_day(res["onsetDateTime"],
                                                                "onsetDateTime")
            if res.get("onsetDateTime") else None, note=note,
            status="entered_in_error" if ver == "entered-in-error" else "active",
            created_at=as_instant(res["recordedDate"], "recordedDate")
            if res.get("recordedDate") else audit.now())
        self.plan.children[pkey].append((key, c, None))

    def _encounter(self, key: str, res: dict[str, Any]) -> None:
        self._subject(key, res)  # carried by its Procedure; checked for a known patient

    def _procedure(self, key: str, res: dict[str, Any]) -> None:
        pkey = self._subject(key, res)
        when = res.get("performedDateTime") or (res.get("performedPeriod") or {}).get("start")
        day = as_day(when, "performedDateTime")
        ind, _ = self.indication(list(res.get("reasonCode") or []), "reasonCode")
        status = ext_value(res, "record-status", "valueCode")
        if status is None:
            status = {"completed": "signed", "entered-in-error": "entered_in_error"}.get(
                res.get("status", ""))
            if status is None:
                raise Refusal("status", f"a {res.get('status')!r} procedure cannot be "
                              "imported; only completed (or entered-in-error) sessions")
        if status not in ("draft", "signed", "entered_in_error"):
            raise Refusal("extension[record-status]", f"{status!r} is not draft, signed or "
                          "entered_in_error")
        if status == "signed" and day > today():
            # planned is not given: a session dated after today cannot arrive as given
            raise Refusal("performedDateTime", f"{day.isoformat()} is after today "
                          f"({today().isoformat()}): a session not yet given cannot be "
                          "imported as completed")
        performer = (res.get("performer") or [{}])[0].get("actor")
        clinician = self.user(performer, f"{key} performer")
        check = parts(ext_all(res, "plan-check")[0]) if ext_all(res, "plan-check") else {}
        consent = parts(ext_all(res, "consent")[0]) if ext_all(res, "consent") else {}
        signature = parts(ext_all(res, "signature")[0]) if ext_all(res, "signature") else {}
        weight = ext_value(res, "weight-kg", "valueQuantity")
        total = ext_value(res, "total-units", "valueQuantity")
        note = " ".join(n.get("text", "") for n in res.get("note") or [])
        now = audit.now()
        cy = Cycle(clinic_id=self.actor.clinic_id, date=day, product="", indication=ind,
                   clinician_id=clinician, weight_kg=as_decimal(weight["value"], "extension")
                   if weight else None,
                   total_units=as_units(total, "extension[total-units]") if total else Decimal(0),
                   consent_recorded=bool(consent.get("recorded", False)),
                   consent_text=consent.get("text") or "", note=note, status=status,
                   verdict=check.get("verdict") or "imported",
                   reference_version=check.get("reference-version") or "not checked",
                   next_earliest_date=as_day(check["next-earliest-date"], "extension")
                   if check.get("next-earliest-date") else None,
                   version=int(ext_value(res, "cycle-version", "valueInteger") or 1),
                   created_by=self.user(ext_value(res, "recorded-by", "valueReference"),
                                        f"{key} recorded-by") if ext_all(res, "recorded-by")
                   else self.actor.user_id, created_at=now, updated_at=now)
        if status == "signed":
            cy.signed_by = (self.user(signature.get("by"), f"{key} signature")
                            if signature else self.actor.user_id)
            cy.signed_at = (as_instant(signature["at"], "extension[signature]")
                            if signature.get("at") else now)
        cy.findings = [CycleFinding(
            code=f.get("code"), severity=f.get("severity"), message=f.get("message") or "",
            value=as_decimal(f["value"], "extension[finding]") if f.get("value") is not None
            else None, limit=as_decimal(f["limit"], "extension[finding]")
            if f.get("limit") is not None else None, unit=f.get("unit"),
            muscle=f.get("muscle"), side=f.get("side"), source=f.get("source"))
            for f in map(parts, ext_all(res, "finding"))]
        cy.overrides = [Override(code=o.get("code"), clinician_id=self.user(
            o.get("by"), f"{key} override"), reason=o.get("reason") or "",
            created_at=as_instant(o["at"], "extension[override]") if o.get("at") else now)
            for o in map(parts, ext_all(res, "override"))]
        if res.get("usedCode"):
            cy.product = self.product(res["usedCode"][0], "usedCode[0]")
        used = [self.target(u, "Medication", f"usedReference[{i}]")
                for i, u in enumerate(res.get("usedReference") or [])]
        self.plan.cycles[key] = cy
        self.plan.cycle_patient[key] = pkey
        self.plan.children[pkey].append((key, cy, None))
        self._used.update(dict.fromkeys(used, key))

    def _medication(self, key: str, res: dict[str, Any]) -> None:
        ckey = self._used.get(key)
        if ckey is None:
            raise Refusal("", "no Procedure in this input uses this Medication (usedReference)")
        cy = self.plan.cycles[ckey]
        product = self.product(res.get("code"), "code")
        if cy.product and cy.product != product:
            raise Refusal("code", f"{product} differs from the session's product "
                          f"{cy.product}")
        cy.product = product
        strength = ((res.get("ingredient") or [{}])[0]).get("strength") or {}
        size = ext_value(res, "vial-size", "valueQuantity") or strength.get("numerator")
        if size is None:
            raise Refusal("extension[vial-size]", "the vial size (units) is missing")
        batch = res.get("batch") or {}
        recon = ext_value(res, "reconstituted-at", "valueDateTime")
        discarded = ext_value(res, "units-discarded", "valueQuantity")
        cy.vials.append(Vial(
            size_units=as_units(size, "extension[vial-size]"),
            diluent_ml=as_ml(strength["denominator"], "ingredient[0].strength.denominator")
            if strength.get("denominator") else None,
            lot=batch.get("lotNumber"),
            expiry=as_day(batch["expirationDate"], "batch.expirationDate")
            if batch.get("expirationDate") else None,
            reconstituted_at=as_instant(recon, "extension[reconstituted-at]")
            .astimezone(UTC).replace(tzinfo=None) if recon else None,
            units_discarded=as_units(discarded, "extension[units-discarded]")
            if discarded else None,
            recorded_by=self.user(ext_value(res, "recorded-by", "valueReference"),
                                  f"{key} recorded-by")))

    def _cycle_of(self, res: dict[str, Any]) -> str:
        for i, part in enumerate(res.get("partOf") or []):
            try:
                k = self.target(part, "Procedure", f"partOf[{i}]")
            except Refusal:
                continue
            if k in self.plan.cycles:
                return k
        enc = res.get("context") or res.get("encounter")
        if isinstance(enc, dict) and isinstance(enc.get("reference"), str):
            ekey = self.target(enc, "Encounter", "context")
            for k, proc in ((k, self.by_key[k]) for k in self.plan.cycles):
                ref_ = (proc.get("encounter") or {}).get("reference", "")
                if ref_ and (self.urls.get(ref_) or "/".join(ref_.split("/")[-2:])) == ekey:
                    return k
        raise Refusal("partOf", "no imported Procedure (session) this injection belongs to")

    def _medicationadministration(self, key: str, res: dict[str, Any]) -> None:
        self._subject(key, res)
        ckey = self._cycle_of(res)
        cy = self.plan.cycles[ckey]
        if res.get("medicationCodeableConcept"):
            product = self.product(res["medicationCodeableConcept"],
                                   "medicationCodeableConcept")
            if cy.product and cy.product != product:
                raise Refusal("medicationCodeableConcept", f"{product} differs from the "
                              f"session's product {cy.product}")
            cy.product = product
        dosage = res.get("dosage") or {}
        muscle = self.muscle(dosage.get("site"), "dosage.site")
        side = self.side(dosage.get("site"), muscle, "dosage.site", required=True)
        if side not in ("left", "right", "midline"):
            raise Refusal("dosage.site.extension", f"an injection is on one side (left, right "
                          f"or midline), got {side!r}: record each side separately")
        units = as_units(dosage.get("dose"), "dosage.dose")
        guidance_cc = ext_value(res, "guidance", "valueCodeableConcept")
        guidance = code_in(guidance_cc, CS_GUIDANCE)
        if guidance_cc and not guidance:
            snomed = code_in(guidance_cc, SNOMED)
            guidance = next((g for g, (c, _) in GUIDANCE_SNOMED.items() if c == snomed), None)
        volume = ext_value(res, "injected-volume", "valueQuantity")
        cy.injections.append(Injection(
            muscle=muscle, side=side, units=units,
            sites=int(ext_value(res, "injection-sites", "valueInteger") or 1),
            volume_ml=as_ml(volume, "extension[injected-volume]") if volume else None,
            guidance=guidance))

    def _observation(self, key: str, res: dict[str, Any]) -> None:
        pkey = self._subject(key, res)
        code = res.get("code")
        error = res.get("status") == "entered-in-error"
        recorder = self.user(ext_value(res, "recorded-by", "valueReference")
                             or (res.get("performer") or [None])[0], f"{key} recorded-by")
        if code_in(code, CS_OBSERVATION) == "body-weight":
            q = res.get("valueQuantity") or {}
            if q.get("code") != "kg":
                raise Refusal("valueQuantity", "body weight must be in kg")
            self.plan.children[pkey].append((key, Weight(
                measured_on=as_day(res.get("effectiveDateTime"), "effectiveDateTime"),
                weight_kg=as_decimal(q.get("value"), "valueQuantity.value"),
                recorded_by=recorder, created_at=audit.now()), None))
            return
        scale = code_in(code, CS_OUTCOME)
        if scale is None:
            snomed = code_in(code, SNOMED)
            scale = self.ref.scale_by_coding(SNOMED, snomed)
        if scale is None:
            raise Refusal("code", f"no known outcome scale in {shown(code)}")
        if "valueCodeableConcept" in res:
            cc = res["valueCodeableConcept"]
            raw: Any = code_in(cc, CS_MAS) or cc.get("text")
        elif "valueQuantity" in res:
            raw = res["valueQuantity"].get("value")
        elif "valueInteger" in res:
            raw = res["valueInteger"]
        else:
            raise Refusal("value[x]", "the measurement has no value")
        try:
            value, text = read_value(self.ref.scales, scale, raw)
        except ScaleError as err:
            raise Refusal("value[x]", err.reason) from None
        site = res.get("bodySite")
        muscle = self.muscle(site, "bodySite") if site and site.get("coding") else None
        side = self.side(site, muscle, "bodySite", required=False) if site else None
        cycle = None
        for part in res.get("partOf") or []:
            k = self.target(part, "Procedure", "partOf")
            cycle = k if k in self.plan.cycles else None
        self.plan.children[pkey].append((key, Outcome(
            scale=scale, value=value, value_text=text, muscle=muscle,
            region=ext_value(res, "region", "valueString"), side=side,
            measured_at=as_instant(res.get("effectiveDateTime"), "effectiveDateTime"),
            recorded_by=recorder, status="entered_in_error" if error else "active"), cycle))

    def _goal(self, key: str, res: dict[str, Any]) -> None:
        pkey = self._subject(key, res)
        text = (res.get("description") or {}).get("text")
        if not text:
            raise Refusal("description.text", "the goal needs its words")
        due = next((t.get("dueDate") for t in res.get("target") or [] if t.get("dueDate")),
                   None)
        attained = ext_value(res, "gas-attainment", "valueInteger")
        if attained is not None and attained not in (-2, -1, 0, 1, 2):
            raise Refusal("extension[gas-attainment]", f"GAS levels run from -2 to +2, got "
                          f"{attained}")
        self.plan.children[pkey].append((key, Goal(
            description=text, weight=int(ext_value(res, "gas-weight", "valueInteger") or 1),
            target_date=as_day(due, "target.dueDate") if due else None, attainment=attained,
            status="entered_in_error" if res.get("lifecycleStatus") == "entered-in-error"
            else "active", version=1,
            created_by=self.user(res.get("expressedBy"), f"{key} expressedBy")
            if res.get("expressedBy") else self.actor.user_id, created_at=audit.now()), None))

    def _adverseevent(self, key: str, res: dict[str, Any]) -> None:
        pkey = self._subject(key, res)
        event = res.get("event") or {}
        term = event.get("text") or next((c.get("display") for c in event.get("coding") or []
                                          if c.get("display")), None)
        if not term:
            raise Refusal("event", "the side effect needs a term (text or display)")
        severity = code_in(res.get("severity"), "http://terminology.hl7.org/CodeSystem/"
                           "adverse-event-severity") or "mild"
        if severity not in ("mild", "moderate", "severe"):
            raise Refusal("severity", f"{severity!r} is not mild, moderate or severe")
        serious = code_in(res.get("seriousness"), "http://terminology.hl7.org/CodeSystem/"
                          "adverse-event-seriousness") == "Serious"
        outcome = AE_OUTCOME_BACK.get(code_in(res.get("outcome"), "http://terminology.hl7."
                                              "org/CodeSystem/adverse-event-outcome") or "",
                                      "unknown")
        related = code_in(ext_value(res, "relatedness", "valueCodeableConcept"), CS_RELATEDNESS)
        doc = triage_texts([term], self.ref)  # triage what another system sent
        flags = [str(e.get("valueCode")) for e in ext_all(res, "red-flag")]
        if not ext_all(res, "red-flag"):
            flags = [f["id"] for f in doc["flags"]]
        cycle = None
        for s in res.get("suspectEntity") or []:
            inst = s.get("instance") or {}
            if str(inst.get("reference", "")).split("/")[-2:-1] == ["Procedure"]:
                k = self.target(inst, "Procedure", "suspectEntity.instance")
                cycle = k if k in self.plan.cycles else None
        status = ext_value(res, "record-status", "valueCode") or "active"
        if status not in ("active", "entered_in_error"):
            raise Refusal("extension[record-status]", f"{status!r} is not active or "
                          "entered_in_error")
        self.plan.children[pkey].append((key, SideEffect(
            term=term[:200], onset=as_day(res.get("date"), "date"), severity=severity,
            serious=serious, outcome=outcome, relatedness=related or "unknown",
            red_flags=flags, triage_level="urgent" if flags else doc["level"], triage=doc,
            reported_by=self.user(res.get("recorder"), f"{key} recorder")
            if res.get("recorder") else self.actor.user_id,
            reported_at=as_instant(res["recordedDate"], "recordedDate")
            if res.get("recordedDate") else audit.now(), status=status), cycle))

    def _questionnaireresponse(self, key: str, res: dict[str, Any]) -> None:
        pkey = self._subject(key, res)
        if res.get("questionnaire") != DIARY_QUESTIONNAIRE:
            raise Refusal("questionnaire", f"only the bontrack diary ({DIARY_QUESTIONNAIRE}) "
                          "can be imported")
        answers: dict[str, Any] = {}
        for i, item in enumerate(res.get("item") or []):
            a = (item.get("answer") or [{}])[0]
            value = next((v for k, v in a.items() if k.startswith("value")), None)
            answers[item.get("linkId", f"item[{i}]")] = value
        if "entry-date" not in answers:
            raise Refusal("item", "the diary entry's day (linkId entry-date) is missing")
        doc = triage_texts([v for v in (answers.get("side-effects"), answers.get("note"))
                            if isinstance(v, str)], self.ref)
        self.plan.children[pkey].append((key, DiaryEntry(
            entry_date=as_day(answers["entry-date"], "item[entry-date]"),
            red_flags=[f["id"] for f in doc["flags"]], triage_level=doc["level"], triage=doc,
            spasm_frequency=answers.get("spasm-frequency"),
            spasm_intensity=answers.get("spasm-intensity"), pain=answers.get("pain"),
            side_effects=answers.get("side-effects") or "", note=answers.get("note") or "",
            created_by=self.user(res.get("author"), f"{key} author")
            if res.get("author") else self.actor.user_id,
            created_at=as_instant(res["authored"], "authored") if res.get("authored")
            else audit.now(),
            status="entered_in_error" if res.get("status") == "entered-in-error"
            else "active"), None))


def finish_cycles(reader: Reader) -> None:
    """Checks that need the whole input: each session has a product and its injections."""
    for key, cy in reader.plan.cycles.items():
        if not cy.product:
            reader.problems.append(Problem(key, "usedReference", "the session names no "
                                           "product (no Medication, usedCode or medication)"))
        if not cy.injections and cy.status != "entered_in_error":
            reader.problems.append(Problem(key, "", "no MedicationAdministration in this "
                                           "input belongs to this session"))
        if cy.total_units == 0:
            cy.total_units = sum((i.units for i in cy.injections), Decimal(0))


def import_items(session: Session, actor: Actor, ref: Reference, items: list[Item],
                 source: str, problems: list[Problem] | None = None) -> Imported:
    """Validate, map and write, or refuse with every problem and write nothing."""
    require_role(actor, ("admin", "clinician"), "import records")
    found = list(problems or []) + check_models(items)
    if found:
        raise ImportRefused(found)
    if not items:
        raise ImportRefused([Problem(source, "", "contains no resources")])
    reader = Reader(session, actor, ref, items)
    plan = reader.run()
    finish_cycles(reader)
    if reader.problems:
        raise ImportRefused(reader.problems)
    return write(session, actor, plan, source, reader.unmatched)
