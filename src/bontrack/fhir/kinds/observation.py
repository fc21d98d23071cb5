"""Observation: an outcome measurement (a scale's value) or a body weight (id ``weight-N``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from bontrack.clinical.display import scale_text
from bontrack.clinical.scales import ScaleError, read_value
from bontrack.fhir import narrative
from bontrack.fhir.codes import (
    BODY_WEIGHT_LOINC,
    CS_MAS,
    CS_OBSERVATION,
    CS_OUTCOME,
    GRAMS_PER_UNIT,
    LOINC,
    OBS_CATEGORY,
    SNOMED,
    UCUM,
    code_in,
    coding,
    concept,
)
from bontrack.fhir.elements import Refusal, as_day, as_decimal, as_instant, ext_value, shown
from bontrack.fhir.kind import Kind
from bontrack.fhir.lines import columns, dec, dumps, isoday, members, memo, num, stamp, text
from bontrack.fhir.mapping import (
    Context,
    Json,
    day,
    ext,
    instant,
    meta,
    quantity,
    recorded_by,
    ref,
    side_ext,
    target_site,
)
from bontrack.fhir.query import SUBJECT, SUBJECT_INCLUDES, Source, never
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import Batch, RowSet, find
from bontrack.reference import Reference, default_reference
from bontrack.services import audit
from bontrack.store.models import Outcome, Weight

W, OUT = Weight.__table__, Outcome.__table__
WEIGHTS = RowSet("weights", W)
OUTCOMES = RowSet("outcomes", OUT)


def weight_code() -> Json:
    """LOINC 29463-7 (US Core's body weight code) and bontrack's own code, so a reader that
    knows either finds it."""
    return concept(coding(LOINC, *BODY_WEIGHT_LOINC),
                   coding(CS_OBSERVATION, "body-weight", "Body weight"), text="Body weight")


def weight(ctx: Context, w: Any) -> Json:
    return {
        "resourceType": "Observation", "id": f"weight-{w.id}",
        # a weight is never changed: version 1, recorded when created
        "meta": meta(1, w.created_at),
        "extension": [recorded_by(ctx, w.recorded_by)],
        "status": "final",
        "category": [concept(coding(OBS_CATEGORY, "vital-signs", "Vital Signs"))],
        "code": weight_code(),
        "subject": ref("Patient", w.patient_id),
        "effectiveDateTime": day(w.measured_on),
        "valueQuantity": quantity(w.weight_kg, "kg", "kg"),
    }


def _scale(ctx: Context, scale_id: str) -> tuple[list[Json], Json]:
    """(category, code) of an outcome scale."""
    return ctx.shared(("scale", scale_id), lambda: _scale_concepts(ctx.ref, scale_id))


def _scale_concepts(ref: Reference, scale_id: str) -> tuple[list[Json], Json]:
    """The scale's codings and category from reference/data/scales.yaml (a scale the
    reference does not know: our code alone, category exam)."""
    scale = ref.scales.get(scale_id)
    if scale is None:
        name, category = scale_id, "exam"
        codings = [coding(CS_OUTCOME, scale_id, name)]
    else:
        name, category = scale.name, scale.fhir.category
        codings = [coding(c.system, c.code, c.display) for c in scale.fhir.codings]
    return ([concept(coding(OBS_CATEGORY, category, category.title()))],
            concept(*codings, text=name))


def observation(ctx: Context, o: Any) -> Json:
    """An outcome measurement: SNOMED CT scale concept where verified, else our code."""
    category, code = _scale(ctx, o.scale)
    extensions = [recorded_by(ctx, o.recorded_by)]
    if o.region:
        extensions.append(ext("region", valueString=o.region))
    out: Json = {
        "resourceType": "Observation", "id": str(o.id),
        # the one change of an outcome is its withdrawal; until then its time of recording
        # stands (rows from before migration 0019 kept none: their measurement time)
        "meta": meta(o.version, o.error_at or o.recorded_at or o.measured_at),
        "extension": extensions,
        "status": "entered-in-error" if o.status == "entered_in_error" else "final",
        "category": category, "code": code, "subject": ref("Patient", o.patient_id),
    }
    if o.cycle_id is not None:
        out["partOf"] = [ref("Procedure", o.cycle_id)]
    out["effectiveDateTime"] = instant(o.measured_at)
    if o.scale == "modified_ashworth":
        # the grade as the scale writes it ("1+"), from the stored value, whatever the text
        grade = (scale_text(ctx.ref.scales, o.scale, o.value) if o.value is not None
                 else o.value_text)
        out["valueCodeableConcept"] = ctx.shared(("mas", grade), lambda: concept(
            coding(CS_MAS, grade, grade), text=grade))
    else:
        known = ctx.ref.scales.get(o.scale)
        unit, display = (known.unit.code, known.unit.display) if known else ("{score}", "score")
        out["valueQuantity"] = quantity(o.value, display, unit)
    if o.muscle:
        out["bodySite"] = target_site(ctx, o.muscle, o.side)
    elif o.side:
        out["bodySite"] = {"extension": side_ext(o.side), "text": o.side}
    return out


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for w in batch.of(WEIGHTS, p.id):
        yield weight(ctx, w)
    for o in batch.of(OUTCOMES, p.id):
        yield observation(ctx, o)


def _weight_middle(ctx: Context) -> bytes:
    """From the status to the subject's reference, the same for every weight."""
    return ctx.shared(("bytes", "weight-middle"), lambda: b"," + members({
        "status": "final",
        "category": [concept(coding(OBS_CATEGORY, "vital-signs", "Vital Signs"))],
        "code": weight_code()}) + b',"subject":{"reference":"Patient/')


_KG_TAIL = b',"unit":"kg","system":' + text(UCUM) + b',"code":"kg"}}\n'
#: a weight's line: every piece that varies is a slot (one formatting call per line)
_WEIGHT = (b'{"resourceType":"Observation","id":"weight-%d","meta":{"versionId":"1",'
           b'"lastUpdated":"%b"},"extension":[%b]%b%d"},"effectiveDateTime":"%b",'
           b'"valueQuantity":{"value":%b%b')
#: an outcome's line (the pieces after the extensions start with their own comma)
_OUTCOME = (b'{"resourceType":"Observation","id":"%d","meta":{"versionId":"%d",'
            b'"lastUpdated":"%b"},"extension":[%b%b%b%d"}%b,"effectiveDateTime":"%b"%b%b}\n')


def _outcome_concepts(ctx: Context, scale: str) -> bytes:
    """``"category":…,"code":…`` of a scale."""
    def build() -> bytes:
        category, code = _scale(ctx, scale)
        return members({"category": category, "code": code})

    return ctx.shared(("bytes", "scale", scale), build)


def _outcome_unit(ctx: Context, scale: str) -> bytes:
    def build() -> bytes:
        known = ctx.ref.scales.get(scale)
        unit, display = (known.unit.code, known.unit.display) if known else ("{score}",
                                                                             "score")
        return (b',"unit":' + text(display) + b',"system":' + text(UCUM) + b',"code":'
                + text(unit) + b"}")

    return ctx.shared(("bytes", "scale-unit", scale), build)


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces."""
    recorders, sites = memo(ctx, "recorded-by"), memo(ctx, "outcome-site")
    kilos = memo(ctx, "number")
    heads, values = memo(ctx, "outcome-head"), memo(ctx, "outcome-value")
    middle = _weight_middle(ctx)
    for p in patients:
        for w in batch.of(WEIGHTS, p.id):
            rb = w[W_RB]
            yield _WEIGHT % (
                w[W_ID], stamp(w[W_CREATED]),
                recorders.get(rb) or recorders.setdefault(rb, dumps(recorded_by(ctx, rb))),
                middle, w[W_PATIENT], isoday(w[W_ON]), dec(kilos, w[W_KG]), _KG_TAIL)
        for o in batch.of(OUTCOMES, p.id):
            rb, region, status, scale = o[O_RB], o[O_REGION], o[O_STATUS], o[O_SCALE]
            measured, cycle, muscle, side = o[O_AT], o[O_CYCLE], o[O_MUSCLE], o[O_SIDE]
            at = stamp(measured)
            updated = o[O_ERROR_AT] or o[O_RECORDED_AT] or measured
            key = (status, scale)
            number = o[O_VALUE]
            # the number's text in the key, not the Decimal (hashing one is dear, lines.dec)
            key_v = (scale, None if number is None else str(number), o[O_TEXT])
            if muscle:
                where = (muscle, side)
                site = sites.get(where) or sites.setdefault(
                    where, b',"bodySite":' + dumps(target_site(ctx, muscle, side)))
            elif side:
                site = b',"bodySite":' + dumps({"extension": side_ext(side), "text": side})
            else:
                site = b""
            yield _OUTCOME % (
                o[O_ID], o[O_VERSION] or 1, at if updated is measured else stamp(updated),
                recorders.get(rb) or recorders.setdefault(rb, dumps(recorded_by(ctx, rb))),
                b"," + dumps(ext("region", valueString=region)) if region else b"",
                heads.get(key) or heads.setdefault(key, _outcome_head(ctx, status, scale)),
                o[O_PATIENT],
                b"" if cycle is None else b',"partOf":[{"reference":"Procedure/%d"}]' % cycle,
                at, values.get(key_v) or values.setdefault(
                    key_v, _outcome_value(ctx, scale, number, o[O_TEXT])),
                site)


W_ID, W_PATIENT, W_RB, W_CREATED, W_ON, W_KG = columns(
    W, "id", "patient_id", "recorded_by", "created_at", "measured_on", "weight_kg")
(O_ID, O_PATIENT, O_CYCLE, O_RB, O_REGION, O_STATUS, O_SCALE, O_AT, O_VALUE, O_TEXT,
 O_MUSCLE, O_SIDE, O_VERSION, O_ERROR_AT, O_RECORDED_AT) = columns(
    OUT, "id", "patient_id", "cycle_id", "recorded_by", "region", "status", "scale",
    "measured_at", "value", "value_text", "muscle", "side", "version", "error_at",
    "recorded_at")


def _outcome_head(ctx: Context, status: str, scale: str) -> bytes:
    """From the end of the extensions to the subject's id: the same for a status and scale."""
    return (b'],"status":' + (b'"entered-in-error",' if status == "entered_in_error"
                              else b'"final",')
            + _outcome_concepts(ctx, scale) + b',"subject":{"reference":"Patient/')


def _outcome_value(ctx: Context, scale: str, value: Any, value_text: Any) -> bytes:
    """``"value[x]":…`` of a measurement (as ``observation`` writes it)."""
    if scale == "modified_ashworth":
        grade = (scale_text(ctx.ref.scales, scale, value) if value is not None
                 else value_text)
        return b',"valueCodeableConcept":' + dumps(concept(coding(CS_MAS, grade, grade),
                                                           text=grade))
    return b',"valueQuantity":{"value":' + num(value) + _outcome_unit(ctx, scale)


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    if rid.startswith("weight-"):
        w = find(session, W, rid.removeprefix("weight-"))
        return None if w is None else (weight(ctx, w), w.patient_id)
    o = find(session, OUT, rid)
    return None if o is None else (observation(ctx, o), o.patient_id)


def _scale_code(system: str | None, code: str) -> ColumnElement[bool]:
    # the SNOMED CT codes of the scales: reference/data/scales.yaml (the bundled reference)
    snomed_ids = default_reference().scale_by_coding
    if system == SNOMED:
        scales = [s for s in [snomed_ids(SNOMED, code)] if s]
        return OUT.c.scale.in_(scales) if scales else never()
    if system in (None, CS_OUTCOME):
        snomed = [s for s in [snomed_ids(SNOMED, code)] if s and system is None]
        return OUT.c.scale.in_([code, *snomed])
    return never()


#: Past this a body weight is refused here, before rounding (the record's own check, at most
#: 400 kg, names the same element for anything smaller).
WEIGHT_KG_READABLE = Decimal(1_000_000)


def as_kg(q: Any, path: str) -> Decimal:
    """A body weight in kg: UCUM kg, g, [lb_av] or [oz_av] (the FHIR body weight profile's
    units), converted by UCUM's definitions (``codes.GRAMS_PER_UNIT``) and rounded to the
    stored 0.01 kg. A weight may be converted; toxin units never are."""
    if not isinstance(q, dict):
        raise Refusal(path, "a body weight needs a valueQuantity")
    unit = q.get("code") or q.get("unit")
    if unit not in GRAMS_PER_UNIT:
        raise Refusal(f"{path}.code", f"body weight in {unit!r}: bontrack reads kg, g, "
                      "[lb_av] or [oz_av] (UCUM)")
    grams = as_decimal(q.get("value"), f"{path}.value") * Decimal(GRAMS_PER_UNIT[unit])
    kg = grams / Decimal(1000)
    if not kg.is_finite() or abs(kg) > WEIGHT_KG_READABLE:
        # quantize needs more digits than the context holds past ~1e26 kg (issue 17, F11)
        raise Refusal(f"{path}.value", f"a body weight of {q.get('value')} {unit} is not a "
                      "weight (at most 400 kg)")
    return kg.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    pkey = reader.subject(res)
    code = res.get("code")
    error = res.get("status") == "entered-in-error"
    recorder = reader.user(ext_value(res, "recorded-by", "valueReference")
                           or (res.get("performer") or [None])[0], f"{key} recorded-by")
    if code_in(code, CS_OBSERVATION) == "body-weight" or any(
            isinstance(c, dict) and c.get("system") == LOINC and c.get("code") ==
            BODY_WEIGHT_LOINC[0] for c in (code or {}).get("coding") or []):
        when = res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start")
        reader.plan.children[pkey].append((key, Weight(
            measured_on=as_day(when, "effectiveDateTime"),
            weight_kg=as_kg(res.get("valueQuantity"), "valueQuantity"),
            recorded_by=recorder, created_at=audit.now()), None))
        return
    scale = code_in(code, CS_OUTCOME)
    if scale is None:
        snomed = code_in(code, SNOMED)
        scale = reader.ref.scale_by_coding(SNOMED, snomed)
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
        value, text = read_value(reader.ref.scales, scale, raw)
    except ScaleError as err:
        raise Refusal("value[x]", err.reason) from None
    site = res.get("bodySite")
    muscle = reader.muscle(site, "bodySite") if site and site.get("coding") else None
    side = reader.side(site, muscle, "bodySite", required=False) if site else None
    cycle = None
    for part in res.get("partOf") or []:
        k = reader.target(part, "Procedure", "partOf")
        cycle = k if k in reader.plan.cycles else None
    reader.plan.children[pkey].append((key, Outcome(
        scale=scale, value=value, value_text=text, muscle=muscle,
        region=ext_value(res, "region", "valueString"), side=side,
        measured_at=as_instant(res.get("effectiveDateTime"), "effectiveDateTime"),
        recorded_by=recorder, status="entered_in_error" if error else "active",
        recorded_at=audit.now()), cycle))


KIND = Kind(
    name="Observation", store=(Outcome, Weight), rows=(WEIGHTS, OUTCOMES), export=export,
    fetch=fetch, read=read, audit={Weight: "weight", Outcome: "outcome"},
    after=("Patient", "Procedure"),
    sources=(Source(OUT, OUT.c.patient_id, OUT.c.measured_at, _scale_code,
                    updated=func.coalesce(OUT.c.error_at, OUT.c.recorded_at,
                                          OUT.c.measured_at)),
             Source(W, W.c.patient_id, W.c.measured_on, None, "weight-",
                    updated=W.c.created_at)),
    includes={**SUBJECT_INCLUDES, "part-of": ("partOf", "Procedure")},
    params={**SUBJECT, "date": "date", "code": "token"}, lines=lines,
    narrative=narrative.observation,
)
