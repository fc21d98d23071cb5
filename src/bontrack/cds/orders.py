"""Draft MedicationRequests (a CDS Hooks ``context.draftOrders`` Bundle) read into one draft
plan per botulinum toxin product and indication.

What an order says is read, never guessed: the product from an RxNorm code in the reference
data, a bontrack product code, or its brand or generic name in the text; the units per body
site from each ``dosageInstruction`` (``doseAndRate.doseQuantity`` in U, [iU] or {Unit}: the
product's own units, never converted); the site as a bontrack injection-target code, a
SNOMED CT structure code of the reference data, or the muscle's name, with its side from a
SNOMED CT laterality qualifier, bontrack's laterality extension or the words left/right; the
indication from ``reasonCode``. A dose line that cannot be read is returned as ``Unread``
naming the element, so the caller can say it was not checked. Orders for other medicines are
not this service's business and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bontrack.errors import FieldError
from bontrack.fhir.codes import (
    CS_INDICATION,
    CS_MUSCLE,
    CS_PRODUCT,
    CS_SIDE,
    EXT,
    ICD10CM,
    LATERALITY,
    MCODE_LATERALITY,
    NDC,
    RXNORM,
    SNOMED,
    code_in,
)
from bontrack.reference import Reference

#: Quantity units (``unit`` or UCUM ``code``) read as the product's own units.
UNIT_WORDS = frozenset({"u", "[iu]", "iu", "{unit}", "{units}", "unit", "units", "[arb'u]"})
SIDE_BY_SNOMED = {code: side for side, (code, _) in LATERALITY.items()}
_SIDE_WORDS = {"left": "left", "right": "right", "l": "left", "r": "right",
               "bilateral": "bilateral", "both": "bilateral", "midline": "midline"}
_WORD = re.compile(r"[A-Za-z0-9]+")
#: Words that say an order is for a botulinum toxin, though its product is not known.
_TOXIN_WORDS = ("botulinum", "toxin", "bont")


@dataclass(frozen=True, slots=True)
class DoseLine:
    """Units of one product into one muscle and side; ``sites`` None when not said."""

    muscle: str
    side: str
    units: Decimal
    sites: int | None
    where: str


@dataclass(frozen=True, slots=True)
class Unread:
    """Part of an order that could not be read: where, why, and its product if known."""

    where: str
    reason: str
    product: str | None = None


@dataclass(frozen=True, slots=True)
class DraftProduct:
    """One product's dose lines for one indication (``None``: the order names none)."""

    product: str
    indication: str | None
    indication_text: str | None
    lines: tuple[DoseLine, ...]
    orders: tuple[str, ...]

    @property
    def total_units(self) -> Decimal:
        return sum((ln.units for ln in self.lines), Decimal(0))


@dataclass(frozen=True, slots=True)
class DraftOrders:
    products: tuple[DraftProduct, ...]
    unread: tuple[Unread, ...]
    day: date | None


def _bad(where: str, reason: str) -> FieldError:
    """A dose line that cannot be read: its element path and why (kept as an ``Unread``)."""
    return FieldError("", where, reason)


def shown(cc: Any) -> str:
    """A CodeableConcept as a person would read it (text, displays or codes)."""
    if not isinstance(cc, dict):
        return repr(cc)[:80]
    if isinstance(cc.get("text"), str):
        return str(cc["text"])[:120]
    parts = [str(c.get("display") or f"{c.get('system')}|{c.get('code')}")
             for c in cc.get("coding") or [] if isinstance(c, dict)]
    return ", ".join(parts)[:120] or "nothing"


def _texts(cc: Any) -> list[str]:
    if not isinstance(cc, dict):
        return []
    out = [cc["text"]] if isinstance(cc.get("text"), str) else []
    out += [c["display"] for c in cc.get("coding") or []
            if isinstance(c, dict) and isinstance(c.get("display"), str)]
    return out


def _codes(cc: Any, system: str) -> list[str]:
    if not isinstance(cc, dict):
        return []
    return [str(c["code"]) for c in cc.get("coding") or []
            if isinstance(c, dict) and c.get("system") == system
            and isinstance(c.get("code"), str)]


def product_of(cc: Any, ref: Reference) -> str | None:
    """The product an order's medication concept names: RxNorm code, NDC, bontrack code, or
    a brand or generic name in its text ("Botox 100 unit vial", "incobotulinumtoxinA")."""
    for code in _codes(cc, RXNORM):
        found = ref.product_by_rxnorm(code)
        if found:
            return found
    for code in _codes(cc, NDC):
        found = ref.product_by_ndc(code)
        if found:
            return found
    own = code_in(cc, CS_PRODUCT)
    if own and own in ref.products:
        return own
    for text in _texts(cc):
        found = ref.product_id(text)
        if found:
            return found
        words = {ref.product_id(w) for w in _WORD.findall(text)} - {None}
        if len(words) == 1:
            return str(words.pop())
    return None


def _is_toxin(cc: Any) -> bool:
    return any(w in t.lower() for t in _texts(cc) for w in _TOXIN_WORDS)


def _medication(res: dict[str, Any], bundle: dict[str, dict[str, Any]]) -> Any:
    """The order's medication concept: inline, a contained Medication, or one in the Bundle."""
    if "medicationCodeableConcept" in res:
        return res["medicationCodeableConcept"]
    link = res.get("medicationReference")
    target = link.get("reference") if isinstance(link, dict) else None
    if not isinstance(target, str):
        return None
    if target.startswith("#"):
        for c in res.get("contained") or []:
            if isinstance(c, dict) and c.get("id") == target[1:]:
                return c.get("code")
        return None
    med = bundle.get(target)
    return med.get("code") if med else None


def indication_of(concepts: list[Any], ref: Reference) -> str | None:
    """The indication an order's ``reasonCode`` names (bontrack code, an ICD-10-CM code that
    fits one indication only, or the indication's name)."""
    for cc in concepts:
        code = code_in(cc, CS_INDICATION)
        if code and code in ref.indications:
            return code
    for cc in concepts:
        for icd in _codes(cc, ICD10CM):
            hits = [i.id for i in ref.indications.values() if any(c.code == icd for c in i.icd10cm)]
            if len(hits) == 1:
                return hits[0]
    for cc in concepts:
        for text in _texts(cc):
            found = ref.indication_id(text)
            if found:
                return found
    return None


def _side_of(site: dict[str, Any]) -> str | None:
    for e in site.get("extension") or []:
        if isinstance(e, dict) and e.get("url") in (EXT["laterality"], MCODE_LATERALITY):
            lat = e.get("valueCodeableConcept")
            side = SIDE_BY_SNOMED.get(code_in(lat, SNOMED) or "") or code_in(lat, CS_SIDE)
            if side:
                return side
    for code in _codes(site, SNOMED):
        if code in SIDE_BY_SNOMED:
            return SIDE_BY_SNOMED[code]
    side = code_in(site, CS_SIDE)
    if side:
        return side
    for text in _texts(site):
        words = {_SIDE_WORDS[w] for w in _WORD.findall(text.lower()) if w in _SIDE_WORDS}
        if len(words) == 1:
            return words.pop()
    return None


def _muscle_of(site: dict[str, Any], ref: Reference) -> str | None:
    code = code_in(site, CS_MUSCLE)
    if code and code in ref.muscles:
        return code
    for snomed in _codes(site, SNOMED):
        hits = [m.id for m in ref.muscles.values()
                if m.snomed is not None and m.snomed.code == snomed]
        if len(hits) == 1:
            return hits[0]
    for text in _texts(site):
        found = ref.muscle_id(text)
        if found:
            return found
        bare = " ".join(w for w in _WORD.findall(text) if w.lower() not in _SIDE_WORDS)
        found = ref.muscle_id(bare) if bare else None
        if found:
            return found
    return None


def _units(dosage: dict[str, Any], where: str) -> Decimal:
    quantities = [d.get("doseQuantity") for d in dosage.get("doseAndRate") or []
                  if isinstance(d, dict) and d.get("doseQuantity") is not None]
    if len(quantities) != 1 or not isinstance(quantities[0], dict):
        raise _bad(f"{where}.doseAndRate", "give one doseQuantity (the units into this site)"
                   if not quantities else "several doseQuantity values: give one per site")
    q = quantities[0]
    words = {str(q.get(k)).lower() for k in ("unit", "code") if isinstance(q.get(k), str)}
    if not words or not words <= UNIT_WORDS:
        raise _bad(f"{where}.doseAndRate[0].doseQuantity.unit",
                   f"units {sorted(words) or 'not given'} are not the product's units (U, [iU] "
                   "or {Unit}); doses are never converted")
    value = q.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(f"{where}.doseAndRate[0].doseQuantity.value", "a number of units is needed")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _bad(f"{where}.doseAndRate[0].doseQuantity.value",
                   f"{value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0 or amount > 100_000:
        raise _bad(f"{where}.doseAndRate[0].doseQuantity.value",
                   f"{value!r} units is not a dose (more than 0, at most 100000)")
    return amount


def _sites(dosage: dict[str, Any]) -> int | None:
    for e in dosage.get("extension") or []:
        if isinstance(e, dict) and e.get("url") == EXT["injection-sites"]:
            n = e.get("valuePositiveInt", e.get("valueInteger"))
            if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 100:
                return n
    return None


def dose_line(dosage: Any, where: str, ref: Reference) -> DoseLine:
    """One ``dosageInstruction``: the site (muscle and side), the units, the sites count."""
    if not isinstance(dosage, dict):
        raise _bad(where, "a Dosage object is needed")
    site = dosage.get("site")
    if not isinstance(site, dict):
        raise _bad(f"{where}.site", "the body site (muscle and side) is not given")
    muscle = _muscle_of(site, ref)
    if muscle is None:
        raise _bad(f"{where}.site", f"no known muscle or injection target in {shown(site)!r}")
    side = _side_of(site)
    if side is None and not ref.muscles[muscle].paired:
        side = "midline"
    if side not in ("left", "right", "midline"):
        raise _bad(f"{where}.site", f"the side of {ref.muscles[muscle].name} is "
                   + ("bilateral: give each side its own dose" if side else "not given")
                   + " (left or right)")
    return DoseLine(muscle, side, _units(dosage, where), _sites(dosage), where)


def _order_day(res: dict[str, Any]) -> date | None:
    for d in res.get("dosageInstruction") or []:
        events = ((d or {}).get("timing") or {}).get("event") if isinstance(d, dict) else None
        if isinstance(events, list) and events and isinstance(events[0], str):
            try:
                return date.fromisoformat(events[0][:10])
            except ValueError:
                return None
    return None


def read_orders(bundle: Any, ref: Reference) -> DraftOrders:
    """Every botulinum toxin MedicationRequest of a draftOrders Bundle, grouped by product
    and indication in the order first met."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return DraftOrders((), (Unread("context.draftOrders", "a Bundle of draft orders is "
                                       "needed"),), None)
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    resources = [e.get("resource") for e in entries]
    by_ref: dict[str, dict[str, Any]] = {}
    for e, r in zip(entries, resources, strict=True):
        if isinstance(r, dict) and isinstance(r.get("id"), str):
            by_ref[f"{r.get('resourceType')}/{r['id']}"] = r
            if isinstance(e.get("fullUrl"), str):
                by_ref[e["fullUrl"]] = r
    groups: dict[tuple[str, str | None], tuple[str | None, list[DoseLine], list[str]]] = {}
    unread: list[Unread] = []
    day: date | None = None
    for n, res in enumerate(resources):
        if not isinstance(res, dict) or res.get("resourceType") != "MedicationRequest":
            continue
        name = f"MedicationRequest/{res.get('id')}" if isinstance(res.get("id"), str) \
            else f"draftOrders.entry[{n}]"
        med = _medication(res, by_ref)
        product = product_of(med, ref)
        if product is None:
            if _is_toxin(med):
                unread.append(Unread(f"{name}.medication", "a botulinum toxin not known to "
                                     f"bontrack ({shown(med)}): not checked"))
            elif not _texts(med):
                unread.append(Unread(f"{name}.medication", f"the medication is not named "
                                     f"({shown(med)}, codes bontrack does not hold): if it is "
                                     "a botulinum toxin, it was not checked"))
            continue
        reasons = [c for c in res.get("reasonCode") or [] if isinstance(c, dict)]
        indication = indication_of(reasons, ref)
        text = ", ".join(shown(c) for c in reasons) or None
        group = groups.setdefault((product, indication), (text, [], []))
        group[2].append(name)
        day = day or _order_day(res)
        dosages = res.get("dosageInstruction")
        if not isinstance(dosages, list) or not dosages:
            unread.append(Unread(f"{name}.dosageInstruction", "no dose is given", product))
            continue
        for i, dosage in enumerate(dosages):
            try:
                group[1].append(dose_line(dosage, f"{name}.dosageInstruction[{i}]", ref))
            except FieldError as bad:
                unread.append(Unread(bad.field, bad.reason, product))
    products = tuple(DraftProduct(p, ind, text, tuple(lines), tuple(names))
                     for (p, ind), (text, lines, names) in groups.items())
    return DraftOrders(products, tuple(unread), day)
