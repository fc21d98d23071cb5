"""The elements FHIR resources share, built from stored rows: pure functions to JSON-ready
dicts (dates, quantities in units, references, extensions, and the muscle, indication and
product concepts). Each resource's own mapping lives with its kind in ``fhir/kinds/``.

Rows may be ORM objects or SQLAlchemy Core rows (attribute access by column name), so the
bulk export can stream plain tuples. Nothing here touches the database; ``Context`` carries
the reference data and the user names that references display. docs/fhir.md has the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from bontrack.clinical.result import number
from bontrack.fhir.codes import (
    CS_INDICATION,
    CS_MUSCLE,
    CS_PROCEDURE,
    CS_PRODUCT,
    CS_SIDE,
    EXT,
    ICD10CM,
    LATERALITY,
    MCODE_LATERALITY,
    MIDLINE,
    NDC,
    RXNORM,
    SNOMED,
    UCUM,
    UNITS,
    USER_SYSTEM,
    coding,
    concept,
)
from bontrack.reference import Reference
from bontrack.reference.schema import (
    RXNORM_BRANDED_TTYS,
    RXNORM_PRODUCT_TTYS,
    RXNORM_VIAL_TTYS,
)

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
    #: the patient record of each patient account (user id -> patient id)
    patients: Mapping[int, int] = field(default_factory=dict)
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


def meta(version: int | None, updated: datetime) -> Json:
    """``meta`` of a resource: the stored row's version and the time of its last change
    (docs/fhir.md, "Versions": which column each kind takes them from)."""
    return {"versionId": str(version or 1), "lastUpdated": instant(updated)}


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


def author_ref(ctx: Context, user_id: int | None) -> Json:
    """Who wrote a patient-reported record: a patient's own account is the Patient (with
    its login, so an import still matches the account); anyone else as ``user_ref``."""
    return ctx.shared(("author", user_id), lambda: _author_ref(ctx, user_id))


def _author_ref(ctx: Context, user_id: int | None) -> Json:
    staff = user_ref(ctx, user_id)
    patient = ctx.patients.get(user_id) if user_id is not None else None
    if patient is None:
        return staff
    return {"reference": f"Patient/{patient}", "type": "Patient",
            "identifier": staff["identifier"], "display": staff["display"]}


def recorded_by(ctx: Context, user_id: int | None) -> Json:
    return ctx.shared(("recorded-by", user_id),
                      lambda: ext("recorded-by", valueReference=user_ref(ctx, user_id)))


def ext(name: str, **value: Any) -> Json:
    return {"url": EXT[name], **value}


def status_ext(status: str) -> Json:
    return ext("record-status", valueCode=status)


def side_ext(side: str | None) -> list[Json]:
    """The side as bontrack's laterality extension and, for a side with a SNOMED CT
    laterality qualifier (left, right, right and left, midline), HL7 mCODE's laterality
    qualifier extension beside it: US-realm readers find the side without bontrack's
    definitions, and earlier readers of bontrack's extension (and midline written in the
    bontrack side CodeSystem) keep working."""
    if not side:
        return []
    qualifier = LATERALITY.get(side) or (MIDLINE if side == "midline" else None)
    if side in LATERALITY:
        code, display = LATERALITY[side]
        out = [ext("laterality", valueCodeableConcept=concept(coding(SNOMED, code, display)))]
    else:
        out = [ext("laterality", valueCodeableConcept=concept(coding(CS_SIDE, side, side)))]
    if qualifier is not None:
        out.append({"url": MCODE_LATERALITY,
                    "valueCodeableConcept": concept(coding(SNOMED, *qualifier))})
    return out


def target_site(ctx: Context, muscle: str, side: str | None) -> Json:
    """A muscle (or gland, skin region) with its SNOMED CT structure where verified, and the
    laterality as extensions (bontrack's and mCODE's laterality qualifier)."""
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


def session_concept() -> Json:
    """A botulinum toxin injection session, in bontrack's procedure CodeSystem: the
    Procedure's code and the Encounter's type (no SNOMED CT or CPT code was verifiable)."""
    return concept(coding(CS_PROCEDURE, "bont-injection-session",
                          "Botulinum toxin injection session"),
                   text="Botulinum toxin injection session")


def vial_concept(ctx: Context, product: str, size_units: Any) -> Json:
    """A vial's product concept, with the original labeler's NDC for that vial size when it
    names the vial unambiguously: the product has one brand and one NDC of that size. BOTOX
    and BOTOX Cosmetic share a product, so its vials carry no NDC (the record does not say
    which carton was opened)."""
    def build() -> Json:
        base = product_concept(ctx, product)
        p = ctx.ref.products.get(product)
        if p is None:
            return base
        extra = [coding(RXNORM, r.code, r.display) for r in p.rxnorm
                 if r.tty in RXNORM_VIAL_TTYS and r.vial_units == size_units
                 and (r.tty not in RXNORM_BRANDED_TTYS or len(p.brands) == 1)]
        sized = [n for n in p.ndc if n.vial_units == size_units]
        if len(p.brands) == 1 and len(sized) == 1:
            extra.append(coding(NDC, sized[0].product_ndc,
                                f"{sized[0].brand} {sized[0].vial_units} U vial"))
        if not extra:
            return base
        return {**base, "coding": [*base["coding"], *extra]}

    return ctx.shared(("vial-code", product, str(size_units)), build)


def _product_concept(ctx: Context, product: str) -> Json:
    p = ctx.ref.products.get(product)
    codings = [coding(CS_PRODUCT, product, product)]
    if p is not None:
        # only what names the product as a whole: an ingredient or drug form, and a brand
        # only for a product of one brand (BOTOX and BOTOX Cosmetic share one)
        codings += [coding(RXNORM, r.code, r.display) for r in p.rxnorm
                    if r.tty in RXNORM_PRODUCT_TTYS
                    and (r.tty not in RXNORM_BRANDED_TTYS or len(p.brands) == 1)]
    text = f"{product} ({', '.join(p.brands)})" if p else product
    return concept(*codings, text=text)
