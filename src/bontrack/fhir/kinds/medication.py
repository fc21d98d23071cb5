"""Medication: one vial of a cycle (product, lot, expiry, dilution as strength). Read,
not searched; imported into the session (Procedure) that uses it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.fhir import narrative
from bontrack.fhir.codes import UCUM
from bontrack.fhir.elements import Refusal, as_day, as_instant, as_ml, as_units, ext_value
from bontrack.fhir.kind import Kind
from bontrack.fhir.lines import (
    columns,
    cycle_meta,
    dec,
    dumps,
    fixed,
    isoday,
    memo,
    stamp,
    text,
)
from bontrack.fhir.mapping import (
    Context,
    Json,
    day,
    ext,
    instant,
    meta,
    quantity,
    recorded_by,
    units,
    vial_concept,
)
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import CY, CYCLES, VIALS, Batch, V, find, one
from bontrack.store.models import Vial


def medication(ctx: Context, v: Any, product: str, cy: Any) -> Json:
    """One vial: the product, its lot and expiry, and the dilution as strength."""
    extensions: list[Json] = [ext("vial-size", valueQuantity=units(v.size_units)),
                              recorded_by(ctx, v.recorded_by)]
    if v.reconstituted_at is not None:
        extensions.append(ext("reconstituted-at", valueDateTime=instant(v.reconstituted_at)))
    if v.units_discarded is not None:
        extensions.append(ext("units-discarded", valueQuantity=units(v.units_discarded)))
    code = vial_concept(ctx, product, v.size_units)
    out: Json = {"resourceType": "Medication", "id": str(v.id),
                 # a vial changes only with its cycle (amended as a whole): its version
                 "meta": meta(cy.version, cy.updated_at), "extension": extensions,
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


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for cy in batch.of(CYCLES, p.id):
        for v in batch.of(VIALS, cy.id):
            yield medication(ctx, v, cy.product, cy)


_U_TAIL = b',"unit":"U","system":' + text(UCUM) + b',"code":"[arb\'U]"}'
#: a vial's line: its id, the cycle's meta, the size, who recorded it, the optional
#: reconstitution and discard, the product, the optional strength and batch
_VIAL = (b'{"resourceType":"Medication","id":"%d%b,"extension":[{"url":'
         + fixed(text(ext("vial-size")["url"])) + b',"valueQuantity":{"value":%b'
         + fixed(_U_TAIL) + b'},%b%b%b],"code":%b%b%b}\n')
V_ID, V_SIZE, V_RB, V_RECONSTITUTED, V_DISCARDED, V_DILUENT, V_LOT, V_EXPIRY = columns(
    V, "id", "size_units", "recorded_by", "reconstituted_at", "units_discarded", "diluent_ml",
    "lot", "expiry")
C_ID, C_PRODUCT = columns(CY, "id", "product")
_RECONSTITUTED = (b',{"url":' + fixed(text(ext("reconstituted-at")["url"]))
                  + b',"valueDateTime":"%b"}')
_LOT_EXPIRY = b',"batch":{"lotNumber":%b,"expirationDate":"%b"}'


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces."""
    recorders, numbers = memo(ctx, "recorded-by"), memo(ctx, "number")
    products, strengths = memo(ctx, "product"), memo(ctx, "strength")
    discards = memo(ctx, "units-discarded")
    for cy in batch.rows(CYCLES, patients):
        vials = batch.of(VIALS, cy[C_ID])
        if not vials:
            continue
        product = cy[C_PRODUCT]
        head = cycle_meta(batch, cy)
        for v in vials:
            size, rb, diluent = v[V_SIZE], v[V_RB], v[V_DILUENT]
            reconstituted, discarded = v[V_RECONSTITUTED], v[V_DISCARDED]
            lot, expiry = v[V_LOT], v[V_EXPIRY]
            # keyed by the numbers' text: hashing a Decimal is dear (``lines.dec``)
            size_b, size_t = dec(numbers, size), str(size)
            code = products.get((product, size_t)) or products.setdefault(
                (product, size_t), dumps(vial_concept(ctx, product, size)))
            if diluent is not None:
                key = (product, size_t, str(diluent))
                strength = strengths.get(key) or strengths.setdefault(key, (
                    b',"ingredient":[{"itemCodeableConcept":' + code
                    + b',"isActive":true,"strength":{"numerator":{"value":' + size_b + _U_TAIL
                    + b',"denominator":' + dumps(quantity(diluent, "mL", "mL")) + b"}}]"))
            else:
                strength = b""
            if lot and expiry:
                lot_b = _LOT_EXPIRY % (dumps(lot), isoday(expiry))
            elif lot or expiry:
                lot_b = b',"batch":' + dumps({"lotNumber": lot} if lot else
                                             {"expirationDate": day(expiry)})
            else:
                lot_b = b""
            yield _VIAL % (
                v[V_ID], head, size_b,
                recorders.get(rb) or recorders.setdefault(rb, dumps(recorded_by(ctx, rb))),
                b"" if reconstituted is None else _RECONSTITUTED % stamp(reconstituted),
                b"" if discarded is None else discards.get(str(discarded)) or discards.setdefault(
                    str(discarded), b"," + dumps(ext("units-discarded",
                                                     valueQuantity=units(discarded)))),
                code, strength, lot_b)


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    v = find(session, V, rid)
    if v is None:
        return None
    cy = one(session, CY, v.cycle_id)
    return medication(ctx, v, cy.product, cy), cy.patient_id


def _named_by_doses(reader: Reader) -> set[str]:
    """The Medications the input's MedicationAdministrations name (medicationReference)."""
    out = set()
    for r in reader.by_key.values():
        raw = (r.get("medicationReference") or {}).get("reference") \
            if r.get("resourceType") == "MedicationAdministration" else None
        if isinstance(raw, str):
            out.add(reader.urls.get(raw) or "/".join(raw.rstrip("/").split("/")[-2:]))
    return out


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    ckey = reader.used.get(key)
    if ckey is None and key in _named_by_doses(reader):
        return  # names the product of a dose given elsewhere: read with that dose
    if ckey is None:
        raise Refusal("", "no Procedure in this input uses this Medication (usedReference)")
    cy = reader.plan.cycles[ckey]
    reader.parts.setdefault(ckey, []).append(key)
    product = reader.product(res.get("code"), "code")
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
        recorded_by=reader.user(ext_value(res, "recorded-by", "valueReference"),
                                f"{key} recorded-by")))


def cycle_of(session: Session, resource: Json) -> int | None:
    return session.scalar(select(V.c.cycle_id).where(V.c.id == int(resource["id"])))


KIND = Kind(
    name="Medication", store=(Vial,), rows=(CYCLES, VIALS), export=export, fetch=fetch,
    read=read, after=("Procedure",), cycle_of=cycle_of, lines=lines,
    narrative=narrative.medication,
)
