"""AdverseEvent: a reported side effect (term, seriousness, severity, outcome; relatedness and
red flags as extensions). One from another system is triaged for red flags on import."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
from bontrack.fhir.lines import columns, dumps, isoday, memo, stamp
from bontrack.fhir.lines import meta as meta_bytes
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


#: a side effect's line: its id and meta, the extensions, the term, the patient, the onset,
#: when reported, by whom, seriousness, severity, outcome, the optional session
_EVENT = (b'{"resourceType":"AdverseEvent","id":"%d%b,"extension":[%b],"actuality":"actual",'
          b'"event":{"text":%b},"subject":{"reference":"Patient/%d"},"date":"%b",'
          b'"recordedDate":"%b","recorder":%b,"seriousness":%b,"severity":%b,"outcome":%b%b}\n')
(S_ID, S_PATIENT, S_CYCLE, S_TERM, S_ONSET, S_SEVERITY, S_SERIOUS, S_OUTCOME, S_RELATEDNESS,
 S_RED_FLAGS, S_REPORTED_BY, S_REPORTED_AT, S_STATUS, S_VERSION, S_ERROR_AT) = columns(
    SE, "id", "patient_id", "cycle_id", "term", "onset", "severity", "serious", "outcome",
    "relatedness", "red_flags", "reported_by", "reported_at", "status", "version", "error_at")


def _related(relatedness: str) -> bytes:
    return dumps(ext("relatedness", valueCodeableConcept=concept(
        coding(CS_RELATEDNESS, relatedness, relatedness.replace("_", " ")))))


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces."""
    heads, related, flags = memo(ctx, "ae-status"), memo(ctx, "ae-related"), memo(ctx, "ae-flag")
    authors, codes = memo(ctx, "author"), memo(ctx, "ae-code")
    for se in batch.rows(SIDE_EFFECTS, patients):
        status, relatedness, red_flags = se[S_STATUS], se[S_RELATEDNESS], se[S_RED_FLAGS]
        by, reported, cycle = se[S_REPORTED_BY], se[S_REPORTED_AT], se[S_CYCLE]
        serious, severity, outcome = bool(se[S_SERIOUS]), se[S_SEVERITY], se[S_OUTCOME]
        extensions = [related.get(relatedness) or related.setdefault(
            relatedness, _related(relatedness))]
        if status != "active":
            extensions.insert(0, heads.get(status) or heads.setdefault(
                status, dumps(status_ext(status))))
        extensions += [flags.get(f) or flags.setdefault(f, dumps(ext("red-flag", valueCode=f)))
                       for f in (red_flags or [])]
        yield _EVENT % (
            se[S_ID], meta_bytes(se[S_VERSION], se[S_ERROR_AT] or reported),
            b",".join(extensions), dumps(se[S_TERM]), se[S_PATIENT], isoday(se[S_ONSET]),
            stamp(reported),
            authors.get(by) or authors.setdefault(by, dumps(author_ref(ctx, by))),
            codes.get(serious) or codes.setdefault(serious, dumps(concept(coding(
                AE_SERIOUSNESS, *AE_SERIOUS[serious])))),
            codes.get(severity) or codes.setdefault(severity, dumps(concept(coding(
                AE_SEVERITY, severity, severity.title())))),
            codes.get(("outcome", outcome)) or codes.setdefault(("outcome", outcome), dumps(
                concept(coding(AE_OUTCOME, AE_OUTCOMES.get(outcome, "unknown"))))),
            b"" if cycle is None
            else b',"suspectEntity":[{"instance":{"reference":"Procedure/%d"}}]' % cycle)


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
    params={**SUBJECT, "date": "date"}, includes=SUBJECT_INCLUDES, lines=lines,
    narrative=narrative.adverse_event,
)
