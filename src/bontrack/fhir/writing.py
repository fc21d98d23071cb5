"""Writing an import: the unsaved rows a ``Reader`` built, parent first, each with its
``import`` audit event naming the source resource (and any person recorded as the
importer because they have no account here)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bontrack.errors import ImportRefused
from bontrack.fhir.reading import Problem
from bontrack.services import audit
from bontrack.services.access import Actor
from bontrack.store.models import Condition, Cycle, Patient, Weight


@dataclass
class Plan:
    """Unsaved rows, grouped so they can be written parent first."""

    patients: list[tuple[str, Patient]] = field(default_factory=list)
    children: dict[str, list[tuple[str, Any, str | None]]] = field(
        default_factory=lambda: defaultdict(list))  # patient key -> (key, row, cycle key)
    cycles: dict[str, Cycle] = field(default_factory=dict)
    cycle_patient: dict[str, str] = field(default_factory=dict)
    #: patients already in the clinic (found by MRN): key -> whether the file changed them
    existing: dict[str, bool] = field(default_factory=dict)


#: the records of a patient the plan check reads (written before the patient's cycles)
CHECK_READS = (Condition, Weight)


@dataclass
class Imported:
    counts: dict[str, int]
    unmatched_people: dict[str, str]
    #: lines for the import summary (a total in the file that disagrees with its injections)
    warnings: list[str] = field(default_factory=list)
    #: resources set aside with the reason (``reading.Skipped``): nothing of them written
    skipped: list[Any] = field(default_factory=list)
    #: resources an earlier import already wrote: not written again
    already: list[str] = field(default_factory=list)


#: (session, patient, key, cycle) -> (problems, warnings): bontrack's plan check of an
#: imported cycle, run just before it is written (``fhir/trust.py``)
Recheck = Callable[[Session, Patient, str, Cycle], tuple[list[Problem], list[str]]]


def write(session: Session, actor: Actor, plan: Plan, source: str,
          unmatched: dict[str, str], entities: Mapping[type, str], recheck: Recheck,
          into: Imported | None = None) -> Imported:
    """Write the rows parent first, each with its import audit event, whose entity is the
    name ``entities`` gives the row's model (the kinds' ``audit``, gathered from the
    registry). A patient's conditions and weights come first (the plan check reads them),
    then the cycles in date order, each re-checked against the history written before it,
    then the rest in the input's order. Problems found by the re-check refuse the whole import."""
    out = into if into is not None else Imported(defaultdict(int), {})
    counts = out.counts
    problems: list[Problem] = []
    people: dict[str, list[str]] = defaultdict(list)
    for k, v in unmatched.items():
        key, what = k.split(" ", 1)
        people[key].append(f"{what} was {v!r}")
    out.unmatched_people.update(unmatched)
    for pkey, patient in plan.patients:
        known = pkey in plan.existing  # found by MRN: updated, not created
        changed = plan.existing.get(pkey, True)
        session.add(patient)
        session.flush()
        if changed:
            audit.record(session, actor, "import", "patient", patient.id, patient.id,
                         detail=f"{'updated ' if known else ''}from {source} {pkey}")
        counts["patient" if not known else
               "patient updated" if changed else "patient unchanged"] += 1
        children = plan.children.get(pkey, [])
        for _key, row, _ in children:  # what the plan check reads: conditions, weights
            if isinstance(row, CHECK_READS):
                row.patient_id = patient.id
                session.add(row)
        session.flush()
        cycles = sorted(((k, r) for k, r, _ in children if isinstance(r, Cycle)),
                        key=lambda kr: kr[1].date)
        for key, cy in cycles:
            cy.patient_id = patient.id
            found, warned = recheck(session, patient, key, cy)
            problems += found
            out.warnings += warned
            session.add(cy)
            session.flush()
        for _key, row, cycle_key in children:  # the rest, in the input's order
            if not isinstance(row, (Cycle, *CHECK_READS)):
                row.patient_id = patient.id
                if cycle_key is not None:
                    row.cycle_id = plan.cycles[cycle_key].id
                session.add(row)
        session.flush()
        for key, row, _ in children:
            entity = entities[type(row)]
            said = "; ".join(people.get(key, []))
            detail = f"from {source} {key}" + (f" (recorded as the importer: {said})"
                                               if said else "")
            if isinstance(row, Cycle) and row.provenance:
                detail += " | " + row.provenance.replace("\n", " | ")
            audit.record(session, actor, "import", entity, row.id, patient.id, detail=detail)
            counts[entity] += 1
            if isinstance(row, Cycle):
                counts["injection"] += len(row.injections)
                counts["vial"] += len(row.vials)
    if problems:
        raise ImportRefused(problems)
    return out
