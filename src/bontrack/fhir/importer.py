"""Import FHIR R4 into the record store: ours (round trip) or another system's resources of
the same types. Two passes: every resource is read into unsaved rows and every problem is
collected; only if there is none are the rows written, in the caller's one transaction,
each with an ``import`` audit event naming its source. Nothing is half-imported.

Imported cycles keep the status they had at the source. A cycle from bontrack keeps its
plan-check verdict, reference-data version, findings, overrides and signature exactly; a
cycle from another system (no plan-check extension) becomes a signed historical record with
verdict ``imported`` and reference version ``not checked``, signed by the importing user at
import time, the source recorded in the audit trail. The plan check is not re-run on
imported history: it describes a decision already taken elsewhere.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bontrack.fhir.elements import Refusal
from bontrack.fhir.reading import ImportRefused, Item, Problem, check_models
from bontrack.fhir.registry import REGISTRY, Registry
from bontrack.fhir.resolve import Reader
from bontrack.fhir.writing import Imported as Imported  # re-exported for services
from bontrack.fhir.writing import Plan, write
from bontrack.reference import Reference
from bontrack.services.access import Actor, require_role


def run(reader: Reader, registry: Registry = REGISTRY) -> Plan:
    """Every resource through its kind's reader, kind by kind in registry order (a patient
    before what is about them), then each kind's whole-input checks."""
    for kind in registry:
        for it in reader.items:
            if it.resource.get("resourceType") != kind.name:
                continue
            try:
                kind.read(reader, it.key, it.resource)
            except Refusal as r:
                reader.problems.append(Problem(it.key, r.path, r.message))
    for kind in registry:
        if kind.finish is not None:
            kind.finish(reader)
    return reader.plan


def import_items(session: Session, actor: Actor, ref: Reference, items: list[Item],
                 source: str, problems: list[Problem] | None = None,
                 registry: Registry = REGISTRY) -> Imported:
    """Validate, map and write, or refuse with every problem and write nothing."""
    require_role(actor, ("admin", "clinician"), "import records")
    found = list(problems or []) + check_models(items, registry.types)
    if found:
        raise ImportRefused(found)
    if not items:
        raise ImportRefused([Problem(source, "", "contains no resources")])
    reader = Reader(session, actor, ref, items)
    plan = run(reader, registry)
    if reader.problems:
        raise ImportRefused(reader.problems)
    audit = {model: name for kind in registry for model, name in kind.audit.items()}
    return write(session, actor, plan, source, reader.unmatched, audit)
