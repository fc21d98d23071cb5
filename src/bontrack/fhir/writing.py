"""Writing an import: the unsaved rows a ``Reader`` built, parent first, each with its
``import`` audit event naming the source resource (and any person recorded as the
importer because they have no account here)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bontrack.services import audit
from bontrack.services.access import Actor
from bontrack.store.models import Cycle, Patient


@dataclass
class Plan:
    """Unsaved rows, grouped so they can be written parent first."""

    patients: list[tuple[str, Patient]] = field(default_factory=list)
    children: dict[str, list[tuple[str, Any, str | None]]] = field(
        default_factory=lambda: defaultdict(list))  # patient key -> (key, row, cycle key)
    cycles: dict[str, Cycle] = field(default_factory=dict)
    cycle_patient: dict[str, str] = field(default_factory=dict)


@dataclass
class Imported:
    counts: dict[str, int]
    unmatched_people: dict[str, str]


def write(session: Session, actor: Actor, plan: Plan, source: str,
          unmatched: dict[str, str], entities: Mapping[type, str]) -> Imported:
    """Write the rows parent first, each with its import audit event, whose entity is the
    name ``entities`` gives the row's model (the kinds' ``audit``, gathered from the
    registry)."""
    counts: dict[str, int] = defaultdict(int)
    for pkey, patient in plan.patients:
        session.add(patient)
        session.flush()
        audit.record(session, actor, "import", "patient", patient.id, patient.id,
                     detail=f"from {source} {pkey}")
        counts["patient"] += 1
        children = plan.children.get(pkey, [])
        for _key, row, _ in children:
            if isinstance(row, Cycle):
                row.patient_id = patient.id
                session.add(row)
        session.flush()
        for _key, row, cycle_key in children:
            if not isinstance(row, Cycle):
                row.patient_id = patient.id
                if cycle_key is not None:
                    row.cycle_id = plan.cycles[cycle_key].id
                session.add(row)
        session.flush()
        for key, row, _ in children:
            entity = entities[type(row)]
            people = "; ".join(f"{k.split(' ', 1)[1]} was {v!r}" for k, v in unmatched.items()
                               if k.startswith(key + " "))
            detail = f"from {source} {key}" + (f" (recorded as the importer: {people})"
                                               if people else "")
            audit.record(session, actor, "import", entity, row.id, patient.id, detail=detail)
            counts[entity] += 1
            if isinstance(row, Cycle):
                counts["injection"] += len(row.injections)
                counts["vial"] += len(row.vials)
    return Imported(dict(counts), unmatched)
