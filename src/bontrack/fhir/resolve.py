"""The state of one import pass and what every resource kind's reader shares: the input's
resources by key, the plan of unsaved rows, the problems found, and the resolvers of
references, people and codes (indication, muscle, side, product) from another system.

Each kind's reader (``fhir/kinds/<type>.py``) maps its resources into ``Reader.plan`` and
raises ``Refusal`` for what it cannot map; ``fhir/importer.py`` runs them in registry order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.fhir.codes import (
    CS_INDICATION,
    CS_MUSCLE,
    CS_PRODUCT,
    CS_SIDE,
    EXT,
    ICD10CM,
    MCODE_LATERALITY,
    NDC,
    RXNORM,
    SIDE_BY_SNOMED,
    SNOMED,
    USER_SYSTEM,
    code_in,
)
from bontrack.fhir.elements import Refusal, shown
from bontrack.fhir.reading import Item, Problem
from bontrack.fhir.writing import Plan
from bontrack.reference import Reference
from bontrack.services.access import Actor
from bontrack.store.models import ImportLink, User


def clinic_users(session: Session, actor: Actor) -> dict[str, User]:
    """The accounts of the importer's clinic by login name (people are matched by it)."""
    return {u.username: u for u in session.scalars(
        select(User).where(User.clinic_id == actor.clinic_id))}


def named(reference: Any) -> str:
    """A person as another system named them: display name and login, as text."""
    if not isinstance(reference, dict):
        return "someone not named"
    ident = reference.get("identifier")
    login = ident.get("value") if isinstance(ident, dict) else None
    display = reference.get("display")
    if display and login:
        return f"{display} ({login})"
    return str(display or login or reference.get("reference") or "someone not named")


def display_name(res: dict[str, Any]) -> str:
    """A Practitioner's or Organization's name as text."""
    name = res.get("name")
    if isinstance(name, str):
        return name
    first = (name or [{}])[0] if isinstance(name, list) else {}
    if not isinstance(first, dict):
        return str(res.get("id"))
    text = first.get("text") or " ".join(
        [*(first.get("prefix") or []), *(first.get("given") or []),
         first.get("family") or ""]).strip()
    return str(text or res.get("id"))


class Reader:
    """One import pass: maps resources to unsaved rows, collecting problems."""

    def __init__(self, session: Session, actor: Actor, ref: Reference, items: list[Item],
                 source: str = "the file", users: dict[str, User] | None = None,
                 directory: dict[str, dict[str, Any]] | None = None):
        self.s = session
        self.source = source  # the input's name, for "signed in <source> by ..."
        self.actor = actor
        self.ref = ref
        self.problems: list[Problem] = []
        self.by_key = {it.key: it.resource for it in items}
        self.urls = {it.full_url: it.key for it in items if it.full_url}
        self.items = items
        self.users = users if users is not None else clinic_users(session, actor)
        #: a cycle's total as the file claimed it (checked against its injections on write)
        self.claimed_totals: dict[str, Decimal] = {}
        self.unmatched: dict[str, str] = {}
        self.plan = Plan()
        self.used: dict[str, str] = {}  # Medication key -> the Procedure using it
        #: the input's Practitioners and Organizations by key (who gave, who recorded, where)
        self.directory = directory or {}
        #: resources set aside with the reason (the import goes on without them)
        self.skipped: list[Problem] = []
        #: resource key -> (entity, row id) of a record an earlier import made of it
        self.linked: dict[str, tuple[str, int]] = {}
        #: cycle key -> the keys of the other resources it was made of (links on write)
        self.parts: dict[str, list[str]] = {}
        #: identity -> (entity, id) of what earlier imports wrote for this group's patient
        #: when that patient is already in the clinic (``Reader.load_links``)
        self.existing_links: dict[str, tuple[str, int]] = {}
        #: (patient key, day, product, indication) -> the key of the cycle holding the doses
        #: given by another service that day (``medication_administration.given_elsewhere``)
        self.elsewhere: dict[tuple[Any, ...], str] = {}

    def load_links(self, patient_id: int) -> None:
        """What earlier imports wrote for an existing patient (``import_links``)."""
        self.existing_links = {i: (e, n) for i, e, n in self.s.execute(
            select(ImportLink.identity, ImportLink.entity, ImportLink.entity_id)
            .where(ImportLink.patient_id == patient_id))}

    def skip(self, key: str, path: str, why: str) -> None:
        """Set a resource aside: listed with the reason, never written."""
        self.skipped.append(Problem(key, path, why))

    def origin(self, res: dict[str, Any]) -> str:
        """The system a resource says it came from (``meta.source``), else the input."""
        src = (res.get("meta") or {}).get("source")
        return str(src) if isinstance(src, str) and src else self.source

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
        reference = self.person(reference)
        ident = reference.get("identifier") if isinstance(reference, dict) else None
        if isinstance(ident, dict) and ident.get("system") == USER_SYSTEM:
            u = self.users.get(str(ident.get("value")))
            if u is not None:
                return u.id
        named = (reference or {}).get("display") if isinstance(reference, dict) else None
        self.unmatched[source] = str(named or "unknown")
        return self.actor.user_id

    def person(self, reference: Any) -> Any:
        """A reference to a Practitioner (or Organization) of the input, filled in from that
        resource: its display name and, where it has one, its bontrack login identifier
        (people are matched to accounts by login name only). Other references unchanged."""
        raw = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(raw, str):
            return reference
        key = self.urls.get(raw) or "/".join(raw.rstrip("/").split("/")[-2:])
        res = self.directory.get(key)
        if res is None:
            return reference
        out = dict(reference)
        login = next((i for i in res.get("identifier") or []
                      if isinstance(i, dict) and i.get("system") == USER_SYSTEM), None)
        if login and "identifier" not in out:
            out["identifier"] = login
        out.setdefault("display", display_name(res))
        return out

    def organization(self, reference: Any) -> str | None:
        """The name of an Organization the input holds (or the reference's display)."""
        ref_ = self.person(reference)
        return str(ref_["display"]) if isinstance(ref_, dict) and ref_.get("display") else None

    def muscle(self, cc: Any, path: str) -> str:
        code = code_in(cc, CS_MUSCLE)
        if code and code in self.ref.muscles:
            return code
        snomeds = [c.get("code") for c in (cc or {}).get("coding") or []
                   if isinstance(c, dict) and c.get("system") == SNOMED]
        for snomed in snomeds:  # a laterality qualifier may stand among the codings
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
        """The side of a site: bontrack's laterality extension, or a SNOMED CT laterality
        qualifier in any extension of the site (mCODE's laterality-qualifier, the R5
        backport's bodySite) or among the site's own codings."""
        exts = [e for e in (cc or {}).get("extension") or [] if isinstance(e, dict)]
        lat = next((e.get("valueCodeableConcept") for e in exts
                    if e.get("url") == EXT["laterality"]), None)
        side = SIDE_BY_SNOMED.get(code_in(lat, SNOMED) or "") or code_in(lat, CS_SIDE)
        mcode = next((e.get("valueCodeableConcept") for e in exts
                      if e.get("url") == MCODE_LATERALITY), None)
        qualified = SIDE_BY_SNOMED.get(code_in(mcode, SNOMED) or "")
        if side and qualified and side != qualified:
            raise Refusal(f"{path}.extension", f"the side is given twice and disagrees: "
                          f"{side!r} (bontrack laterality) and {qualified!r} (mCODE "
                          "laterality qualifier)")
        for concept in [e.get("valueCodeableConcept") for e in exts] + [cc]:
            if side:
                break
            for c in (concept or {}).get("coding") or [] if isinstance(concept, dict) else []:
                if isinstance(c, dict) and c.get("system") == SNOMED \
                        and c.get("code") in SIDE_BY_SNOMED:
                    side = SIDE_BY_SNOMED[c["code"]]
                    break
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
        given = ", ".join(shown(c) for c in concepts) or "nothing"
        raise Refusal(path, f"no known indication in {given}")

    def product(self, cc: Any, path: str) -> str:
        code = code_in(cc, CS_PRODUCT)
        if code and code in self.ref.products:
            return code
        rxcui = code_in(cc, RXNORM)
        if rxcui and self.ref.product_by_rxnorm(rxcui):
            return str(self.ref.product_by_rxnorm(rxcui))
        ndc = code_in(cc, NDC)
        if ndc and self.ref.product_by_ndc(ndc):
            return str(self.ref.product_by_ndc(ndc))
        for text in [(cc or {}).get("text")] + [c.get("display") for c in
                                                 (cc or {}).get("coding") or []]:
            if isinstance(text, str):
                found = self.ref.product_id(text) or self.ref.product_id(text.split(" ")[0])
                if found:
                    return found
        raise Refusal(path, f"no known botulinum toxin product in {shown(cc)}")

    def subject(self, res: dict[str, Any], element: str = "subject") -> str:
        """The key of the patient a resource is about, if that patient is being imported."""
        pkey = self.target(res.get(element), "Patient", element)
        if pkey not in dict(self.plan.patients):
            raise Refusal(element, f"{pkey} could not be imported (see its problems)")
        return pkey
