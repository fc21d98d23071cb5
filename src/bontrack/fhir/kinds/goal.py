"""Goal: a personal goal for Goal Attainment Scaling (weight and attained level as extensions)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from bontrack.fhir import narrative
from bontrack.fhir.elements import Refusal, as_day, ext_value
from bontrack.fhir.kind import Kind
from bontrack.fhir.lines import columns, dumps, fixed, isoday, memo
from bontrack.fhir.lines import meta as meta_bytes
from bontrack.fhir.mapping import Context, Json, day, ext, meta, ref, user_ref
from bontrack.fhir.query import SUBJECT, SUBJECT_INCLUDES, Source
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import Batch, RowSet, find
from bontrack.services import audit
from bontrack.store.models import Goal

G = Goal.__table__
GOALS = RowSet("goals", G)


def goal(ctx: Context, g: Any) -> Json:
    """A personal goal for Goal Attainment Scaling; its weight and attained level (-2..+2)
    ride as extensions (no core element holds a GAS level)."""
    extensions = [ext("gas-weight", valueInteger=g.weight)]
    if g.attainment is not None:
        extensions.append(ext("gas-attainment", valueInteger=g.attainment))
    out: Json = {
        "resourceType": "Goal", "id": str(g.id),
        "meta": meta(g.version, g.updated_at or g.created_at), "extension": extensions,
        "lifecycleStatus": "entered-in-error" if g.status == "entered_in_error" else "active",
        "description": {"text": g.description},
        "subject": ref("Patient", g.patient_id),
        "expressedBy": user_ref(ctx, g.created_by),
    }
    if g.target_date:
        out["target"] = [{"dueDate": day(g.target_date)}]
    return out


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    for g in batch.of(GOALS, p.id):
        yield goal(ctx, g)


#: a goal's line: id, meta, weight, attained level (if scored), status, text, patient,
#: author, target date (if set)
_GOAL = (b'{"resourceType":"Goal","id":"%d%b,"extension":[{"url":'
         + fixed(dumps(ext("gas-weight")["url"])) + b',"valueInteger":%b}%b],'
         b'"lifecycleStatus":"%b","description":{"text":%b},"subject":{"reference":"Patient/'
         b'%d"},"expressedBy":%b%b}\n')
_ATTAINMENT = b',{"url":' + fixed(dumps(ext("gas-attainment")["url"])) + b',"valueInteger":%d}'
(G_ID, G_VERSION, G_UPDATED, G_CREATED, G_WEIGHT, G_ATTAINMENT, G_STATUS, G_TEXT, G_PATIENT,
 G_BY, G_TARGET) = columns(
    G, "id", "version", "updated_at", "created_at", "weight", "attainment", "status",
    "description", "patient_id", "created_by", "target_date")


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces."""
    users = memo(ctx, "user")
    for g in batch.rows(GOALS, patients):
        attainment, by, target = g[G_ATTAINMENT], g[G_BY], g[G_TARGET]
        yield _GOAL % (
            g[G_ID], meta_bytes(g[G_VERSION], g[G_UPDATED] or g[G_CREATED]), dumps(g[G_WEIGHT]),
            b"" if attainment is None else _ATTAINMENT % attainment,
            b"entered-in-error" if g[G_STATUS] == "entered_in_error" else b"active",
            dumps(g[G_TEXT]), g[G_PATIENT],
            users.get(by) or users.setdefault(by, dumps(user_ref(ctx, by))),
            b',"target":[{"dueDate":"%b"}]' % isoday(target) if target else b"")


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    row = find(session, G, rid)
    return None if row is None else (goal(ctx, row), row.patient_id)


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    pkey = reader.subject(res)
    text = (res.get("description") or {}).get("text")
    if not text:
        raise Refusal("description.text", "the goal needs its words")
    due = next((t.get("dueDate") for t in res.get("target") or [] if t.get("dueDate")),
               None)
    attained = ext_value(res, "gas-attainment", "valueInteger")
    if attained is not None and attained not in (-2, -1, 0, 1, 2):
        raise Refusal("extension[gas-attainment]", f"GAS levels run from -2 to +2, got "
                      f"{attained}")
    reader.plan.children[pkey].append((key, Goal(
        description=text, weight=int(ext_value(res, "gas-weight", "valueInteger") or 1),
        target_date=as_day(due, "target.dueDate") if due else None, attainment=attained,
        status="entered_in_error" if res.get("lifecycleStatus") == "entered-in-error"
        else "active", version=1,
        created_by=reader.user(res.get("expressedBy"), f"{key} expressedBy")
        if res.get("expressedBy") else reader.actor.user_id, created_at=audit.now()), None))


KIND = Kind(
    name="Goal", store=(Goal,), rows=(GOALS,), export=export, fetch=fetch, read=read,
    audit={Goal: "goal"}, after=("Patient",),
    sources=(Source(G, G.c.patient_id, G.c.target_date,
                    updated=func.coalesce(G.c.updated_at, G.c.created_at)),),
    includes=SUBJECT_INCLUDES,
    params={**SUBJECT, "date": "date", "target-date": "date"}, lines=lines,
    narrative=narrative.goal,
)
