"""AdverseEvent: a reported side effect (term, seriousness, severity, outcome; relatedness and
red flags as extensions). One from another system is triaged for red flags on import."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from bontrack.fhir import narrative
from bontrack.fhir.codes import (
    AE_OUTCOME,
    AE_OUTCOMES,
    AE_SERIOUS,
    AE_SERIOUSNESS,
    AE_SEVERITY,
    CS_RELATEDNESS,
    code_in,
    coding,
    concept,
)
from bontrack.fhir.elements import Refusal, as_day, as_instant, ext_all, ext_value
from bontrack.fhir.kind import Kind
from bontrack.fhir.mapping import (
    Context,
    Json,
    author_ref,
    day,
    ext,
    instant,
    meta,
    ref,
    status_ext,
)
from bontrack.fhir.query import SUBJECT, SUBJECT_INCLUDES, Source
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import Batch, RowSet, find
from bontrack.services import audit
from bontrack.services.triage import triage_texts
from bontrack.store.models import SideEffect

SE = SideEffect.__table__
SIDE_EFFECTS = RowSet("side_effects", SE)
AE_OUTCOME_BACK = {v: k for k, v in AE_OUTCOMES.items()}


def adverse_event(ctx: Context, se: Any) -> Json:
    extensions: list[Json] = []
    if se.status != "active":
        extensions.append(status_ext(se.status))
    extensions.append(ext("relatedness", valueCodeableConcept=concept(
        coding(CS_RELATEDNESS, se.relatedness, se.relatedness.replace("_", " ")))))
    extensions += [ext("red-flag", valueCode=f) for f in (se.red_flags or [])]
    out: Json = {
        "resourceType": "AdverseEvent", "id": str(se.id),
        # its one change is the withdrawal (entered in error); else as reported
        "meta": meta(se.version, se.error_at or se.reported_at), "extension": extensions,
        "actuality": "actual",
        "event": {"text": se.term},
        "subject": ref("Patient", se.patient_id),
        "date": day(se.onset),
        "recordedDate": instant(se.reported_at),
        "recorder": author_ref(ctx, se.reported_by),
        "seriousness": concept(coding(AE_SERIOUSNESS, *AE_SERIOUS[bool(se.serious)])),
        "severity": concept(coding(AE_SEVERITY, se.severity, se.severity.title())),
        "outcome": concept(coding(AE_OUTCOME, AE_OUTCOMES.get(se.outcome, "unknown"))),
    }
    if se.cycle_id is not None:
        out["suspectEntity"] = [{"instance": ref("Procedure", se.cycle_id)}]
    return out


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for se in batch.of(SIDE_EFFECTS, p.id):
        yield adverse_event(ctx, se)


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    row = find(session, SE, rid)
    return None if row is None else (adverse_event(ctx, row), row.patient_id)


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    pkey = reader.subject(res)
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
    doc = triage_texts([term], reader.ref)  # triage what another system sent
    flags = [str(e.get("valueCode")) for e in ext_all(res, "red-flag")]
    if not ext_all(res, "red-flag"):
        flags = [f["id"] for f in doc["flags"]]
    cycle = None
    for s in res.get("suspectEntity") or []:
        inst = s.get("instance") or {}
        if str(inst.get("reference", "")).split("/")[-2:-1] == ["Procedure"]:
            k = reader.target(inst, "Procedure", "suspectEntity.instance")
            cycle = k if k in reader.plan.cycles else None
    status = ext_value(res, "record-status", "valueCode") or "active"
    if status not in ("active", "entered_in_error"):
        raise Refusal("extension[record-status]", f"{status!r} is not active or "
                      "entered_in_error")
    reader.plan.children[pkey].append((key, SideEffect(
        term=term, onset=as_day(res.get("date"), "date"), severity=severity,
        serious=serious, outcome=outcome, relatedness=related or "unknown",
        red_flags=flags, triage_level="urgent" if flags else doc["level"], triage=doc,
        reported_by=reader.user(res.get("recorder"), f"{key} recorder")
        if res.get("recorder") else reader.actor.user_id,
        reported_at=as_instant(res["recordedDate"], "recordedDate")
        if res.get("recordedDate") else audit.now(), status=status), cycle))


KIND = Kind(
    name="AdverseEvent", store=(SideEffect,), rows=(SIDE_EFFECTS,), export=export,
    fetch=fetch, read=read, audit={SideEffect: "side_effect"}, after=("Patient", "Procedure"),
    sources=(Source(SE, SE.c.patient_id, SE.c.onset,
                    updated=func.coalesce(SE.c.error_at, SE.c.reported_at)),),
    params={**SUBJECT, "date": "date"}, includes=SUBJECT_INCLUDES,
    narrative=narrative.adverse_event,
)
