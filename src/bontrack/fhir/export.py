"""Export records as FHIR R4: a Bundle per patient, or Bulk Data NDJSON for a registry.

Rows are read with SQLAlchemy Core in batches of patients (keyset paging on the patient
id), each batch's children with one query per table, so memory stays bounded by the batch
size whatever the size of the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bontrack.fhir import mapping
from bontrack.fhir.mapping import Context, Json
from bontrack.reference import Reference
from bontrack.store.models import (
    Clinic,
    Condition,
    Cycle,
    CycleFinding,
    DiaryEntry,
    Goal,
    Injection,
    Outcome,
    Override,
    Patient,
    SideEffect,
    User,
    Vial,
    Weight,
)

BATCH = 500
#: The order resource types are written in (a Bundle lists a patient's resources so).
TYPES = ("Patient", "Condition", "Encounter", "Procedure", "Medication",
         "MedicationAdministration", "Observation", "Goal", "AdverseEvent",
         "QuestionnaireResponse")

P, W, C, CY = Patient.__table__, Weight.__table__, Condition.__table__, Cycle.__table__
INJ, V, F, OV = Injection.__table__, Vial.__table__, CycleFinding.__table__, Override.__table__
OUT, G, SE, D = Outcome.__table__, Goal.__table__, SideEffect.__table__, DiaryEntry.__table__


def context(session: Session, ref: Reference) -> Context:
    """The users' login and display names (few, even in a large registry)."""
    users = {r.id: (r.username, r.display_name)
             for r in session.execute(select(User.id, User.username, User.display_name))}
    return Context(ref=ref, users=users)


def clinic_names(session: Session) -> dict[int, str]:
    return {r.id: r.name for r in session.execute(select(Clinic.id, Clinic.name))}


@dataclass
class Batch:
    """All rows of a set of patients, grouped by patient (or cycle) id."""

    patients: list[Any]
    by_patient: dict[str, dict[int, list[Any]]] = field(default_factory=dict)
    by_cycle: dict[str, dict[int, list[Any]]] = field(default_factory=dict)


def _group(rows: Sequence[Any], key: str) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        out[getattr(r, key)].append(r)
    return out


def load(session: Session, patient_rows: list[Any]) -> Batch:
    """The children of these patients, one query per table."""
    ids = [p.id for p in patient_rows]
    batch = Batch(patients=patient_rows)
    if not ids:
        return batch

    def of(table: Any, *order: Any) -> list[Any]:
        stmt: Select[Any] = select(table).where(table.c.patient_id.in_(ids))
        return list(session.execute(stmt.order_by(*order)).all())

    def of_cycles(table: Any) -> list[Any]:
        stmt: Select[Any] = (select(table).join(CY, CY.c.id == table.c.cycle_id)
                             .where(CY.c.patient_id.in_(ids)).order_by(table.c.id))
        return list(session.execute(stmt).all())

    batch.by_patient = {
        "weights": _group(of(W, W.c.id), "patient_id"),
        "conditions": _group(of(C, C.c.id), "patient_id"),
        "cycles": _group(of(CY, CY.c.id), "patient_id"),
        "outcomes": _group(of(OUT, OUT.c.id), "patient_id"),
        "goals": _group(of(G, G.c.id), "patient_id"),
        "side_effects": _group(of(SE, SE.c.id), "patient_id"),
        "diary": _group(of(D, D.c.id), "patient_id"),
    }
    batch.by_cycle = {
        "injections": _group(of_cycles(INJ), "cycle_id"),
        "vials": _group(of_cycles(V), "cycle_id"),
        "findings": _group(of_cycles(F), "cycle_id"),
        "overrides": _group(of_cycles(OV), "cycle_id"),
    }
    return batch


def patient_resources(ctx: Context, batch: Batch, p: Any, clinic: str | None = None
                      ) -> Iterator[Json]:
    """One patient's resources, in the order of ``TYPES``."""
    bp, bc = batch.by_patient, batch.by_cycle
    cycles = bp["cycles"].get(p.id, [])
    yield mapping.patient(ctx, p, clinic)
    for c in bp["conditions"].get(p.id, []):
        yield mapping.condition(ctx, c)
    for cy in cycles:
        yield mapping.encounter(ctx, cy)
    for cy in cycles:
        vial_ids = [v.id for v in bc["vials"].get(cy.id, [])]
        yield mapping.procedure(ctx, cy, vial_ids, bc["findings"].get(cy.id, []),
                                bc["overrides"].get(cy.id, []))
    for cy in cycles:
        for v in bc["vials"].get(cy.id, []):
            yield mapping.medication(ctx, v, cy.product)
    for cy in cycles:
        vials = bc["vials"].get(cy.id, [])
        vial = vials[0].id if vials else None
        common = mapping.administration_common(ctx, cy, vial)
        for inj in bc["injections"].get(cy.id, []):
            yield mapping.medication_administration(ctx, inj, cy, vial, common)
    for w in bp["weights"].get(p.id, []):
        yield mapping.weight(ctx, w)
    for o in bp["outcomes"].get(p.id, []):
        yield mapping.observation(ctx, o)
    for g in bp["goals"].get(p.id, []):
        yield mapping.goal(ctx, g)
    for se in bp["side_effects"].get(p.id, []):
        yield mapping.adverse_event(ctx, se)
    for d in bp["diary"].get(p.id, []):
        yield mapping.questionnaire_response(ctx, d)


def patient_batches(session: Session, clinic_id: int | None = None, size: int = BATCH,
                    patient_ids: Sequence[int] | None = None) -> Iterator[list[Any]]:
    """Patients in id order, ``size`` at a time (keyset paging: no OFFSET scans)."""
    last = 0
    while True:
        stmt: Select[Any] = select(P).where(P.c.id > last)
        if clinic_id is not None:
            stmt = stmt.where(P.c.clinic_id == clinic_id)
        if patient_ids is not None:
            stmt = stmt.where(P.c.id.in_(list(patient_ids)))
        rows = list(session.execute(stmt.order_by(P.c.id).limit(size)).all())
        if not rows:
            return
        yield rows
        last = rows[-1].id


def resources(session: Session, ctx: Context, clinic_id: int | None = None,
              patient_ids: Sequence[int] | None = None, size: int = BATCH
              ) -> Iterator[Json]:
    """Every resource of the selected patients, patient by patient, streamed."""
    clinics = clinic_names(session)
    for rows in patient_batches(session, clinic_id, size, patient_ids):
        batch = load(session, rows)
        for p in rows:
            yield from patient_resources(ctx, batch, p, clinics.get(p.clinic_id))


def bundle(entries: list[Json], kind: str = "collection", base: str | None = None,
           timestamp: str | None = None, total: int | None = None,
           links: list[Json] | None = None) -> Json:
    """A Bundle of resources; ``fullUrl`` only when there is a real base URL to name."""
    out: Json = {"resourceType": "Bundle", "type": kind}
    if timestamp:
        out["timestamp"] = timestamp
    if total is not None:
        out["total"] = total
    if links:
        out["link"] = links
    items = []
    for r in entries:
        e: Json = {}
        if base:
            e["fullUrl"] = f"{base}/{r['resourceType']}/{r['id']}"
        e["resource"] = r
        if kind == "searchset":
            e["search"] = {"mode": "match"}
        items.append(e)
    out["entry"] = items
    return out


def dumps(resource: Json) -> str:
    return orjson.dumps(resource).decode()


def write_ndjson(session: Session, ctx: Context, out_dir: Path, clinic_id: int | None = None,
                 types: Sequence[str] = TYPES, on_patients: Callable[[int], None] | None = None,
                 size: int = BATCH, patient_ids: Sequence[int] | None = None
                 ) -> dict[str, int]:
    """Bulk Data output: one ``<Type>.ndjson`` file per resource type, written as the
    batches stream past. Returns the number of resources written per type."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, IO[bytes]] = {}
    counts: dict[str, int] = dict.fromkeys(types, 0)
    clinics = clinic_names(session)
    try:
        for t in types:
            files[t] = (out_dir / f"{t}.ndjson").open("wb")
        dump, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        for rows in patient_batches(session, clinic_id, size, patient_ids):
            batch = load(session, rows)
            for p in rows:
                for r in patient_resources(ctx, batch, p, clinics.get(p.clinic_id)):
                    t = r["resourceType"]
                    f = files.get(t)
                    if f is not None:
                        f.write(dump(r, option=newline))
                        counts[t] += 1
            if on_patients:
                on_patients(len(rows))
    finally:
        for f in files.values():
            f.close()
    return counts
