"""Procedure: the injection session of a cycle, with its plan check, consent, signature,
findings and overrides as extensions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bontrack.clinical.result import number
from bontrack.fhir import narrative
from bontrack.fhir.codes import CS_PROCEDURE, UCUM
from bontrack.fhir.elements import (
    Refusal,
    as_day,
    as_decimal,
    as_units,
    ext_all,
    ext_value,
    parts,
)
from bontrack.fhir.kind import Kind
from bontrack.fhir.lines import columns, cycle_meta, dec, dumps, fixed, isoday, memo, num, stamp
from bontrack.fhir.mapping import (
    Context,
    Json,
    day,
    ext,
    indication_concept,
    instant,
    meta,
    product_concept,
    quantity,
    recorded_by,
    ref,
    session_concept,
    status_ext,
    units,
    user_ref,
)
from bontrack.fhir.query import SUBJECT, SUBJECT_INCLUDES, Source, never
from bontrack.fhir.reading import Problem
from bontrack.fhir.resolve import Reader, named
from bontrack.fhir.tables import CY, CYCLES, VIALS, Batch, RowSet, V, find
from bontrack.services import audit
from bontrack.services.given import today
from bontrack.store.models import Cycle, CycleFinding, Override

F, OV = CycleFinding.__table__, Override.__table__
FINDINGS = RowSet("findings", F, "cycle")
OVERRIDES = RowSet("overrides", OV, "cycle")


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
    extensions += [ext("provenance", valueString=line)
                   for line in (getattr(cy, "provenance", "") or "").splitlines()]
    extensions.append(recorded_by(ctx, cy.created_by))
    out: Json = {
        "resourceType": "Procedure", "id": str(cy.id), "meta": meta(cy.version, cy.updated_at),
        "extension": extensions,
        # planned is not given: a draft is a session in preparation, never "completed"
        "status": PROCEDURE_STATUS.get(cy.status, "unknown"),
        "code": session_concept(),
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


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for cy in batch.of(CYCLES, p.id):
        vial_ids = [v.id for v in batch.of(VIALS, cy.id)]
        yield procedure(ctx, cy, vial_ids, batch.of(FINDINGS, cy.id), batch.of(OVERRIDES, cy.id))


def _url(name: str) -> bytes:
    return b'{"url":' + dumps(ext(name)["url"])


_U_TAIL = b',"unit":"U","system":' + dumps(UCUM) + b',"code":"[arb\'U]"}}'
_CODE = b',"code":' + dumps(session_concept())
#: the plan check's extension up to its verdict (then the reference version, the optional
#: next earliest date and the end)
_CHECK = b"," + _url("plan-check") + b',"extension":[{"url":"verdict","valueCode":'
_NEXT = b',{"url":"next-earliest-date","valueDate":"%b"}'
_WEIGHT = (b"," + fixed(_url("weight-kg")) + b',"valueQuantity":{"value":%b,"unit":"kg",'
           b'"system":' + fixed(dumps(UCUM)) + b',"code":"kg"}}')
_CONSENT = (b"," + fixed(_url("consent"))
            + b',"extension":[{"url":"recorded","valueBoolean":%b}%b]}')
_SIGNATURE = (b"," + fixed(_url("signature")) + b',"extension":[{"url":"by","valueReference":'
              b'%b},{"url":"at","valueDateTime":"%b"}]}')
#: a session's line: every piece that varies is a slot (the extensions are built above it)
_PROCEDURE = (b'{"resourceType":"Procedure","id":"%d%b,"extension":[%b,'
              + fixed(_url("cycle-version")) + b',"valueInteger":%d}%b,'
              + fixed(_url("total-units")) + b',"valueQuantity":{"value":%b'
              + fixed(_U_TAIL) + b'%b%b%b%b,%b],"status":%b' + fixed(_CODE)
              + b',"subject":{"reference":"Patient/%d"},"encounter":{"reference":"Encounter/'
              b'%d"},"performedDateTime":"%b","performer":[{"actor":%b}],"reasonCode":[%b]%b%b}'
              b"\n")
_STATUS = {k: dumps(v) for k, v in PROCEDURE_STATUS.items()}


#: where each column of a cycle row sits (``lines`` reads rows by index)
(C_ID, C_STATUS, C_VERDICT, C_REFERENCE_VERSION, C_NEXT_EARLIEST_DATE, C_TOTAL_UNITS,
 C_VERSION, C_WEIGHT_KG, C_CONSENT_RECORDED, C_CONSENT_TEXT, C_SIGNED_BY, C_SIGNED_AT,
 C_PROVENANCE, C_CREATED_BY, C_CLINICIAN_ID, C_INDICATION, C_PATIENT_ID, C_DATE, C_NOTE,
 C_PRODUCT) = columns(
    CY, "id", "status", "verdict", "reference_version", "next_earliest_date", "total_units",
    "version", "weight_kg", "consent_recorded", "consent_text", "signed_by", "signed_at",
    "provenance", "created_by", "clinician_id", "indication", "patient_id", "date", "note",
    "product")
V_ID = columns(V, "id")[0]
O_CODE, O_REASON, O_BY, O_AT = columns(OV, "code", "reason", "clinician_id", "created_at")
F_CODE, F_SEVERITY, F_MESSAGE, F_VALUE, F_LIMIT, F_UNIT, F_MUSCLE, F_SIDE, F_SOURCE = columns(
    F, "code", "severity", "message", "value", "limit", "unit", "muscle", "side", "source")
_FINDING = (b"," + fixed(_url("finding")) + b',"extension":[{"url":"code","valueCode":%b},'
            b'{"url":"severity","valueCode":%b},{"url":"message","valueString":%b}%b%b%b%b%b%b]}')


def _finding_bytes(f: Any) -> bytes:
    """``_finding`` as bytes, with the comma that separates it from the extension before."""
    value, limit, unit, muscle, side, source = (f[F_VALUE], f[F_LIMIT], f[F_UNIT],
                                                f[F_MUSCLE], f[F_SIDE], f[F_SOURCE])
    return _FINDING % (
        dumps(f[F_CODE]), dumps(f[F_SEVERITY]), dumps(f[F_MESSAGE]),
        b"" if value is None else b',{"url":"value","valueDecimal":%b}' % num(value),
        b"" if limit is None else b',{"url":"limit","valueDecimal":%b}' % num(limit),
        b',{"url":"unit","valueString":%b}' % dumps(unit) if unit else b"",
        b',{"url":"muscle","valueString":%b}' % dumps(muscle) if muscle else b"",
        b',{"url":"side","valueString":%b}' % dumps(side) if side else b"",
        b',{"url":"source","valueString":%b}' % dumps(source) if source else b"")


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces; a
    finding's, an override's and a provenance line's extension are serialised as the dict
    path builds them."""
    users, heads, reasons = memo(ctx, "user"), memo(ctx, "procedure-head"), memo(ctx, "reason")
    recorders, numbers = memo(ctx, "recorded-by"), memo(ctx, "number")
    checks, products = memo(ctx, "plan-check"), memo(ctx, "used-code")
    for cy in batch.rows(CYCLES, patients):
        n, status = cy[C_ID], cy[C_STATUS]
        verdict, version = cy[C_VERDICT], cy[C_REFERENCE_VERSION]
        check = (checks.get((verdict, version)) or checks.setdefault(
            (verdict, version), _CHECK + dumps(verdict) + b'},{"url":"reference-version",'
            b'"valueString":' + dumps(version) + b"}"))
        next_date = cy[C_NEXT_EARLIEST_DATE]
        if next_date:
            check += _NEXT % isoday(next_date)
        total, weight = cy[C_TOTAL_UNITS], cy[C_WEIGHT_KG]
        consent_text, signed_by, signed_at = cy[C_CONSENT_TEXT], cy[C_SIGNED_BY], cy[C_SIGNED_AT]
        extra = [_finding_bytes(f) for f in batch.of(FINDINGS, n)]
        extra += [b"," + dumps(ext("override", extension=[
            {"url": "code", "valueCode": o[O_CODE]},
            {"url": "reason", "valueString": o[O_REASON]},
            {"url": "by", "valueReference": user_ref(ctx, o[O_BY])},
            {"url": "at", "valueDateTime": instant(o[O_AT])}]))
            for o in batch.of(OVERRIDES, n)]
        extra += [b"," + dumps(ext("provenance", valueString=line))
                  for line in (cy[C_PROVENANCE] or "").splitlines()]
        rb, clinician, indication = cy[C_CREATED_BY], cy[C_CLINICIAN_ID], cy[C_INDICATION]
        note, vials = cy[C_NOTE], batch.of(VIALS, n)
        if vials:
            used = b',"usedReference":[' + b",".join(
                [b'{"reference":"Medication/%d"}' % v[V_ID] for v in vials]) + b"]"
        else:
            product = cy[C_PRODUCT]
            used = products.get(product) or products.setdefault(
                product, b',"usedCode":[' + dumps(product_concept(ctx, product)) + b"]")
        yield _PROCEDURE % (
            n, cycle_meta(batch, cy),
            heads.get(status) or heads.setdefault(status, dumps(status_ext(status))),
            cy[C_VERSION], check + b"]}",
            dec(numbers, total),
            b"" if weight is None else _WEIGHT % dec(numbers, weight),
            _CONSENT % (b"true" if cy[C_CONSENT_RECORDED] else b"false",
                        b',{"url":"text","valueString":' + dumps(consent_text) + b"}"
                        if consent_text else b""),
            b"" if signed_by is None or signed_at is None else _SIGNATURE % (
                users.get(signed_by) or users.setdefault(signed_by,
                                                         dumps(user_ref(ctx, signed_by))),
                stamp(signed_at)),
            b"".join(extra),
            recorders.get(rb) or recorders.setdefault(rb, dumps(recorded_by(ctx, rb))),
            _STATUS.get(status) or dumps(PROCEDURE_STATUS.get(status, "unknown")),
            cy[C_PATIENT_ID], n, isoday(cy[C_DATE]),
            users.get(clinician) or users.setdefault(clinician,
                                                     dumps(user_ref(ctx, clinician))),
            reasons.get(indication) or reasons.setdefault(
                indication, dumps(indication_concept(ctx, indication))),
            b',"note":[{"text":' + dumps(note) + b"}]" if note else b"", used)


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    cy = find(session, CY, rid)
    if cy is None:
        return None
    n = cy.id
    vials = list(session.scalars(select(V.c.id).where(V.c.cycle_id == n).order_by(V.c.id)))
    findings = session.execute(select(F).where(F.c.cycle_id == n).order_by(F.c.id))
    overrides = session.execute(select(OV).where(OV.c.cycle_id == n).order_by(OV.c.id))
    return procedure(ctx, cy, vials, list(findings), list(overrides)), cy.patient_id


def _procedure_code(system: str | None, code: str) -> ColumnElement[bool]:
    if system in (None, CS_PROCEDURE) and code == "bont-injection-session":
        return CY.c.id == CY.c.id
    return never()


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    pkey = reader.subject(res)
    when = res.get("performedDateTime") or (res.get("performedPeriod") or {}).get("start")
    given_on = as_day(when, "performedDateTime")
    ind, _ = reader.indication(list(res.get("reasonCode") or []), "reasonCode")
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
    if status == "signed" and given_on > today():
        # planned is not given: a session dated after today cannot arrive as given
        raise Refusal("performedDateTime", f"{given_on.isoformat()} is after today "
                      f"({today().isoformat()}): a session not yet given cannot be "
                      "imported as completed")
    performer = (res.get("performer") or [{}])[0].get("actor")
    clinician = reader.user(performer, f"{key} performer")
    consent = parts(ext_all(res, "consent")[0]) if ext_all(res, "consent") else {}
    weight = ext_value(res, "weight-kg", "valueQuantity")
    total = ext_value(res, "total-units", "valueQuantity")
    if total:
        reader.claimed_totals[key] = as_units(total, "extension[total-units]")
    note = " ".join(n.get("text", "") for n in res.get("note") or [])
    now = audit.now()
    # the file's verdict, findings, overrides and signature are not ours: bontrack re-runs
    # the plan check on write (fhir/trust.py); what the file said is kept as text
    cy = Cycle(clinic_id=reader.actor.clinic_id, date=given_on, product="", indication=ind,
               clinician_id=clinician, weight_kg=as_decimal(weight["value"], "extension")
               if weight else None, total_units=Decimal(0),
               consent_recorded=bool(consent.get("recorded", False)),
               consent_text=consent.get("text") or "", note=note, status=status,
               verdict="imported", reference_version="not checked",
               provenance="\n".join(provenance(reader, res)),
               version=int(ext_value(res, "cycle-version", "valueInteger") or 1),
               created_by=reader.actor.user_id, created_at=now, updated_at=now)
    if res.get("usedCode"):
        cy.product = reader.product(res["usedCode"][0], "usedCode[0]")
    used = [reader.target(u, "Medication", f"usedReference[{i}]")
            for i, u in enumerate(res.get("usedReference") or [])]
    reader.plan.cycles[key] = cy
    reader.plan.cycle_patient[key] = pkey
    reader.plan.children[pkey].append((key, cy, None))
    reader.used.update(dict.fromkeys(used, key))


def provenance(reader: Reader, res: dict[str, Any]) -> list[str]:
    """What the file says was decided elsewhere, as text lines: earlier provenance, who
    signed, who overrode which stop and why, who recorded it, the verdict it claimed. Never
    a local user's signature or override (issue 15)."""
    system = reader.origin(res)
    lines = [str(e.get("valueString")) for e in ext_all(res, "provenance")
             if e.get("valueString")]
    for sig in map(parts, ext_all(res, "signature")):
        lines.append(f"signed in {system} by {named(sig.get('by'))}"
                     + (f" at {sig['at']}" if sig.get("at") else ""))
    for o in map(parts, ext_all(res, "override")):
        lines.append(f"override in {system} by {named(o.get('by'))}"
                     + (f" at {o['at']}" if o.get("at") else "")
                     + f" of {o.get('code') or 'a finding'}: {o.get('reason') or ''}".rstrip())
    if ext_all(res, "recorded-by"):
        lines.append(f"recorded in {system} by "
                     f"{named(ext_value(res, 'recorded-by', 'valueReference'))}")
    check = parts(ext_all(res, "plan-check")[0]) if ext_all(res, "plan-check") else {}
    if check.get("verdict"):
        lines.append(f"verdict in {system}: {check['verdict']} (reference data "
                     f"{check.get('reference-version') or 'not named'})")
    return lines


def finish(reader: Reader) -> None:
    """Checks that need the whole input: each session has a product and its injections."""
    for key, cy in reader.plan.cycles.items():
        if not cy.product:
            reader.problems.append(Problem(key, "usedReference", "the session names no "
                                           "product (no Medication, usedCode or medication)"))
        if not cy.injections and cy.status != "entered_in_error":
            reader.problems.append(Problem(key, "", "no MedicationAdministration in this "
                                           "input belongs to this session"))
        cy.total_units = sum((i.units for i in cy.injections), Decimal(0))


def cycle_of(session: Session, resource: Json) -> int | None:
    return int(resource["id"])


KIND = Kind(
    name="Procedure", store=(Cycle, CycleFinding, Override),
    rows=(CYCLES, VIALS, FINDINGS, OVERRIDES), export=export, fetch=fetch, read=read,
    audit={Cycle: "cycle"}, after=("Patient",), finish=finish, cycle_of=cycle_of,
    sources=(Source(CY, CY.c.patient_id, CY.c.date, _procedure_code,
                    updated=CY.c.updated_at),),
    includes={**SUBJECT_INCLUDES, "encounter": ("encounter", "Encounter")},
    params={**SUBJECT, "date": "date", "code": "token"}, lines=lines,
    narrative=narrative.procedure,
)
