"""The CDS Hooks use case: an EHR's order-select or order-sign call checked like a plan in
bontrack's planner, with the patient's history from the store, answered as cards.

The check is the planner's own (``services.cycles.run_check``: the stored history of given
cycles, the latest weight, the conditions, then ``clinical.check.check_plan``); nothing here
is a dose rule. Each product is checked on its own: units of two products are never added
or converted, and an order that mixes them gets a card saying so. A patient not in bontrack
is checked on the EHR's birth date alone, and the cards say the history was not. Each call
is audited as a read of the patient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bontrack.cds.cards import Checked, Note, amount, cards_for
from bontrack.cds.discovery import SERVICES
from bontrack.cds.orders import DoseLine, DraftOrders, DraftProduct, read_orders
from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.findings import Finding
from bontrack.clinical.plan import read_plan
from bontrack.documents import loads_json
from bontrack.errors import (
    DocumentError,
    InvalidRecord,
    NotAuthenticated,
    NotFound,
    PlanError,
)
from bontrack.fhir.codes import MRN_SYSTEM
from bontrack.numerals import is_digits
from bontrack.reference import Reference
from bontrack.services import audit, cycles
from bontrack.services.access import STAFF, Actor
from bontrack.services.accounts import actor_of
from bontrack.services.cds_clients import CdsClient, registered_clients, use_token_id, verify
from bontrack.services.given import today
from bontrack.services.schemas import CycleIn, holds_id
from bontrack.services.usecase import use_case
from bontrack.store.models import Clinic, Condition, Patient, User

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def plain(text: object, limit: int = 200) -> str:
    """Text from the request as the audit trail may hold it (no control characters: a NUL
    is refused by PostgreSQL)."""
    return _CONTROL.sub("?", str(text))[:limit]
#: Findings about units per injection site: not shown where the order does not give the
#: number of sites (a muscle's dose is not one site's dose).
PER_SITE = frozenset({"SITE_DOSE_ABOVE_MAX", "SITE_DOSE_ABOVE_RECOMMENDED",
                      "SITES_OUTSIDE_RANGE"})


@dataclass(frozen=True)
class Caller:
    """Who called: the registered EHR, the bontrack account it acts as, the token's claims."""

    client: CdsClient
    actor: Actor
    claims: dict[str, Any]


def _caller(session: Session, token: str, service_id: str, base_url: str) -> Caller:
    client, claims = verify(token, service_id, base_url, registered_clients())
    user = session.scalar(select(User).join(Clinic, Clinic.id == User.clinic_id).where(
        User.username == client.account, Clinic.name == client.clinic))
    if user is None or user.disabled or user.role not in STAFF:
        raise NotAuthenticated(f"the account registered for this EHR ({client.account!r} of "
                               f"{client.clinic!r}) is not an active staff account")
    use_token_id(session, client.issuer, claims["jti"], claims["exp"])
    return Caller(client, actor_of(user), claims)


def _request(raw: bytes, service_id: str) -> dict[str, Any]:
    """The hook request, checked for the fields the spec requires."""
    if service_id not in SERVICES:
        raise NotFound(f"no CDS service {service_id!r} (GET /cds-services lists them)")
    body = loads_json(raw)
    if not isinstance(body, dict):
        raise InvalidRecord("the request must be a JSON object", field="(body)")
    if body.get("hook") != SERVICES[service_id]:
        raise InvalidRecord(f"this service answers the {SERVICES[service_id]} hook",
                            field="hook")
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        raise InvalidRecord("a hookInstance (a UUID) is required", field="hookInstance")
    context = body.get("context")
    if not isinstance(context, dict):
        raise InvalidRecord("the hook context is required", field="context")
    if not isinstance(context.get("patientId"), str) or not context["patientId"].strip():
        raise InvalidRecord("the patient's id is required", field="context.patientId")
    if "draftOrders" not in context:
        raise InvalidRecord("the draft orders (a Bundle) are required",
                            field="context.draftOrders")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise InvalidRecord("prefetch must be an object", field="prefetch")
    return body


def _mrns(ehr: dict[str, Any] | None, patient_id: str, client: CdsClient) -> list[str]:
    """The values that may be bontrack's MRN: the prefetched Patient's identifiers of the
    registered system (else MR-typed ones, or bontrack's own system), else the EHR's id."""
    if ehr is None:
        return [patient_id.strip()] if _mrn_like(patient_id.strip()) else []
    out = []
    for ident in ehr.get("identifier") or []:
        if not isinstance(ident, dict) or not _mrn_like(ident.get("value")):
            continue
        system = ident.get("system")
        codes = [c.get("code") for c in ((ident.get("type") or {}).get("coding") or [])
                 if isinstance(c, dict) and c.get("system") == V2_0203]
        if client.mrn_system is not None:
            if system == client.mrn_system:
                out.append(ident["value"])
        elif system == MRN_SYSTEM or "MR" in codes:
            out.append(ident["value"])
    return out


def _mrn_like(value: object) -> bool:
    """A value that could be an MRN (bontrack's are at most 64 printable characters)."""
    return isinstance(value, str) and 0 < len(value) <= 64 and not _CONTROL.search(value)


def _linked_ids(ehr: dict[str, Any] | None, public: str) -> list[int]:
    """bontrack ids the EHR's Patient links to (``link.other`` = this server's
    ``/fhir/Patient/{id}``, as an EHR records a record held elsewhere)."""
    prefix = f"{public.rstrip('/')}/fhir/Patient/"
    out = []
    for link in (ehr or {}).get("link") or []:
        other = link.get("other") if isinstance(link, dict) else None
        ref = other.get("reference") if isinstance(other, dict) else None
        if isinstance(ref, str) and ref.startswith(prefix) and is_digits(ref[len(prefix):], 18) \
                and holds_id(int(ref[len(prefix):])):
            out.append(int(ref[len(prefix):]))
    return out


def find_patient(session: Session, caller: Caller, context: dict[str, Any],
                 ehr: dict[str, Any] | None, public: str = "") -> tuple[Patient | None,
                                                                         list[Note]]:
    """The patient's record in the caller's clinic, matched by MRN (or by a link to its
    bontrack id); a birth date that differs from the EHR's is not the same patient."""
    mrns = _mrns(ehr, str(context["patientId"]), caller.client)
    ids = _linked_ids(ehr, public)
    rows = list(session.scalars(select(Patient).where(
        Patient.clinic_id == caller.actor.clinic_id,
        or_(Patient.mrn.in_(mrns[:20]), Patient.id.in_(ids[:20])),
        Patient.status == "active"))) if mrns or ids else []
    if len(rows) != 1:
        why = "no identifier bontrack could match" if not (mrns or ids) else (
            f"no bontrack record has MRN {', '.join(mrns[:5]) or '(none given)'}" if not rows
            else "several bontrack records match")
        return None, [Note("info", "Patient not found in bontrack: history NOT checked",
                           f"{why}. The cumulative dose over time, the retreatment interval, "
                           "the recorded conditions, medicines and weight were not checked.",
                           "PATIENT_NOT_IN_BONTRACK")]
    patient = rows[0]
    born = (ehr or {}).get("birthDate")
    if isinstance(born, str) and born[:10] != patient.birth_date.isoformat():
        return None, [Note("warning", "Patient identity differs: bontrack's history NOT used",
                           f"The EHR's birth date {born[:10]} differs from bontrack's record "
                           f"matched ({patient.birth_date.isoformat()}): its history "
                           "was not used. Check the patient's identity.",
                           "PATIENT_IDENTITY_MISMATCH")]
    return patient, []


def _merged(lines: tuple[DoseLine, ...]) -> list[dict[str, Any]]:
    """One injection per muscle and side (units of one product added; sites when known)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for ln in lines:
        inj = out.setdefault((ln.muscle, ln.side), {"muscle": ln.muscle, "side": ln.side,
                                                    "units": Decimal(0), "sites": 0})
        inj["units"] += ln.units
        inj["sites"] = None if ln.sites is None or inj["sites"] is None else \
            inj["sites"] + ln.sites
    return [{**i, "sites": i["sites"] or 1} for i in out.values()]


def _unknown_sites(lines: tuple[DoseLine, ...]) -> set[tuple[str, str]]:
    return {(ln.muscle, ln.side) for ln in lines if ln.sites is None}


def _indication(session: Session, dp: DraftProduct, patient: Patient | None,
                ref: Reference) -> tuple[str | None, list[Note]]:
    if dp.indication is not None:
        return dp.indication, []
    active = sorted(set(session.scalars(select(Condition.indication).where(
        Condition.patient_id == patient.id, Condition.status == "active")))) if patient else []
    name = ref.products[dp.product].brands[0]
    if len(active) == 1 and dp.indication_text is None:
        return active[0], [Note("info", f"{name}: indication taken from bontrack's record",
                                "The order gives no reason (reasonCode); the patient's one "
                                f"active condition in bontrack ({active[0].replace('_', ' ')}) "
                                "was checked.", "INDICATION_FROM_RECORD")]
    said = f" ({dp.indication_text})" if dp.indication_text else ""
    return None, [Note("info", f"{name} order NOT checked: indication unknown",
                       f"The order's reason{said} is not an indication bontrack knows, and "
                       "the patient's record does not name one: no dose limit was checked. "
                       "Give a reasonCode (ICD-10-CM or the indication's name).",
                       "NOT_CHECKED")]


def check_product(session: Session, dp: DraftProduct, day: date, patient: Patient | None,
                  birth: str | None, ref: Reference) -> tuple[Checked | None, list[Note]]:
    """The plan check of one product's lines: the planner's check (stored history) for a
    patient in bontrack, else the plan-check contract on the EHR's birth date alone."""
    p = ref.products[dp.product]
    indication, notes = _indication(session, dp, patient, ref)
    if indication is None:
        return None, notes
    injections = _merged(dp.lines)
    try:
        if patient is not None:
            body = CycleIn(date=day, product=dp.product, indication=indication,
                           injections=injections)
            result, _ = cycles.run_check(session, patient, body, ref)
        elif birth is not None:
            doc = {"date": day, "patient": {"birth_date": birth}, "product": dp.product,
                   "indication": indication, "injections": injections}
            result = check_plan(read_plan(doc, ref, where="order"), ref)
        else:
            return None, [*notes, Note("info", f"{p.brands[0]} order NOT checked: age unknown",
                                       "The patient is not in bontrack and the EHR sent no "
                                       "birth date (prefetch patient): no limit was checked.",
                                       "NOT_CHECKED")]
    except (ValidationError, InvalidRecord, PlanError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        return None, [*notes, Note("info", f"{p.brands[0]} order NOT checked",
                                   f"The order could not be checked as a plan: {reason}.",
                                   "NOT_CHECKED")]
    return _checked(dp, result, ref, notes)


def _checked(dp: DraftProduct, result: CheckResult, ref: Reference, notes: list[Note]
             ) -> tuple[Checked, list[Note]]:
    name = ref.products[dp.product].brands[0]
    unknown = _unknown_sites(dp.lines)
    kept: list[Finding] = [f for f in result.findings if not (
        f.code in PER_SITE and (f.muscle is None or (f.muscle, f.side) in unknown))]
    if unknown:
        muscles = ", ".join(f"{ref.muscles[m].name} ({s})" for m, s in sorted(unknown))
        notes.append(Note("info", f"{name}: dose per injection site NOT checked",
                          f"The order does not give the number of injection sites for "
                          f"{muscles}; the units per site were not checked. bontrack reads "
                          "it from the Dosage extension "
                          "https://fhir.bontrack.org/StructureDefinition/injection-sites.",
                          "NOT_CHECKED"))
    return Checked(dp.product, name, ref.indications[result.plan.indication].name,
                   result.total_units, tuple(kept)), notes


def session_notes(orders: DraftOrders, ref: Reference) -> list[Note]:
    """What the order as a whole needs said: products mixed in one session, one product for
    several indications, parts not read."""
    notes: list[Note] = []
    totals: dict[str, Decimal] = {}
    for dp in orders.products:
        totals[dp.product] = totals.get(dp.product, Decimal(0)) + dp.total_units
    if len(totals) > 1:
        names = [ref.products[p].brands[0] for p in totals]
        listing = "; ".join(f"{ref.products[p].brands[0]} {amount(t)} U"
                            for p, t in totals.items())
        sources = [ref.citation(p.units_statement.source.document, p.units_statement.source.section)
                   for p in (ref.products[i] for i in totals) if p.units_statement]
        notes.append(Note(
            "warning", f"Two botulinum toxin products in one session: {' and '.join(names)}"
            if len(names) == 2 else f"{len(names)} botulinum toxin products in one session",
            f"This order holds {listing}. Units of different products are not "
            "interchangeable: they were never added or converted. Each product was checked "
            "on its own against its own label, and neither product's checks count the other "
            "product's units in this order; weigh the combined exposure clinically.",
            "UNITS_NOT_INTERCHANGEABLE", "; ".join(sources) or None))
    for pid in totals:
        split = [dp for dp in orders.products if dp.product == pid]
        if len(split) > 1:
            name = ref.products[pid].brands[0]
            notes.append(Note(
                "warning", f"{name} ordered for {len(split)} indications in one session",
                f"{name} {amount(totals[pid])} U in all. Each indication was checked on its "
                "own: a session or cumulative maximum over the indications together was NOT "
                "checked on their sum.", "NOT_CHECKED"))
    for u in orders.unread:
        name = ref.products[u.product].brands[0] if u.product else "A botulinum toxin order"
        notes.append(Note("warning", f"{name}: part of the order NOT read or checked",
                          f"{u.where}: {u.reason}. These units are not in the check: the "
                          "totals checked may be too low.", "NOT_READ"))
    return notes


@use_case(keep_on=(DocumentError, InvalidRecord))
def answer(session: Session, service_id: str, token: str, raw: bytes, base_url: str,
           ref: Reference) -> dict[str, Any]:
    """One hook call: authenticate the EHR, read its draft orders, check each product with
    the patient's history, and answer the cards. The token's id is kept even when the body
    is refused (a token is used once)."""
    if service_id not in SERVICES:
        raise NotFound(f"no CDS service {service_id!r} (GET /cds-services lists them)")
    caller = _caller(session, token, service_id, base_url)
    body = _request(raw, service_id)
    context, prefetch = body["context"], body.get("prefetch") or {}
    ehr = prefetch.get("patient") if isinstance(prefetch.get("patient"), dict) else None
    if ehr is not None and ehr.get("resourceType") != "Patient":
        raise InvalidRecord("prefetch.patient must be a Patient", field="prefetch.patient")
    public = (caller.client.audience or base_url).rstrip("/")  # behind a proxy: its URL
    patient, notes = find_patient(session, caller, context, ehr, public)
    orders = read_orders(context["draftOrders"], ref)
    day = orders.day or today()
    birth = ehr.get("birthDate") if ehr and isinstance(ehr.get("birthDate"), str) else None
    checked: list[Checked] = []
    notes += session_notes(orders, ref)
    for dp in orders.products:
        c, more = check_product(session, dp, day, patient, birth, ref)
        notes += more
        if c is not None:
            checked.append(c)
    if not orders.products and not orders.unread:
        notes = []  # no botulinum toxin in the order: not this service's business
    planner = f"{public}/patients/{patient.id}/cycles/new" if patient else None
    detail = (f"cds {body['hook']} iss={caller.client.issuer} sub={plain(caller.claims['sub'])} "
              f"hookInstance={plain(body['hookInstance'], 80)} products="
              f"{','.join(dp.product for dp in orders.products) or 'none'}")
    audit.record(session, caller.actor, "read", "patient" if patient else "cds_hook",
                 patient.id if patient else None, patient.id if patient else None,
                 detail=detail)
    return {"cards": cards_for(checked, notes, body["hookInstance"], planner)}



@use_case()
def record_refusal(session: Session, service_id: str, reason: str, address: str) -> None:
    """A hook call refused (401): audited in its own transaction, with the caller's address,
    like a failed sign-in."""
    audit.record(session, None, "call", "cds_hook", outcome="denied",
                 detail=plain(f"{service_id} from {address}: {reason}", 500))
