"""Import FHIR R4 into the record store: ours (round trip) or another system's resources of
the same types, all or nothing, in the caller's one transaction.

Two passes over the input. The first (``reading.scan_input``) reads every resource once,
one at a time, checks it against its R4 model and for control characters, and keeps only
an index: key, place in the file, and whose it is. The second takes one patient at a time
(the patient and every resource about them), maps them into unsaved rows with each kind's
reader, applies the API's input rules (``fhir/rules.py``), and writes them (``writing.py``):
bontrack re-runs the plan check on every imported cycle (``fhir/trust.py``); who signed or
overrode elsewhere is kept as text. Each patient's rows leave memory once flushed, so
memory is bounded by the largest patient, not the file. Problems are collected over the
whole input; any problem refuses it all and the transaction is rolled back: nothing is
written.

Forgiving where it is safe (docs/fhir.md, "Import"): a resource of a type bontrack does not
import, an order, or a dose given elsewhere that cannot be counted under an identified
product is *skipped*: set aside, listed with its reason in the result, and the rest is
imported. Practitioners and Organizations are read to name who gave a dose and where.
A patient already in the clinic (same MRN) is updated, not refused; a resource an earlier
import already wrote (``import_links``: same identifier, else same type and id, for the
same patient) is not written again.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from functools import partial
from typing import Any, cast

from sqlalchemy.orm import Session

from bontrack.fhir.elements import Refusal, Skip
from bontrack.fhir.reading import (
    DIRECTORY_TYPES,
    Entry,
    ImportRefused,
    Input,
    Item,
    Problem,
    Skipped,
    check_models,
    index_entry,
)
from bontrack.fhir.registry import REGISTRY, Registry
from bontrack.fhir.resolve import Reader, clinic_users
from bontrack.fhir.rules import check_row
from bontrack.fhir.trust import recheck
from bontrack.fhir.writing import Imported as Imported  # re-exported for services
from bontrack.fhir.writing import Plan, write
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import Actor, require_role
from bontrack.store.models import Cycle, ImportLink, Patient


def run(reader: Reader, registry: Registry = REGISTRY) -> Plan:
    """Every resource through its kind's reader, kind by kind in registry order (a patient
    before what is about them), then each kind's whole-input checks."""
    for kind in registry:
        for it in reader.items:
            if it.resource.get("resourceType") != kind.name:
                continue
            if kind.name != "Patient" and _already(reader, it):
                continue
            try:
                kind.read(reader, it.key, it.resource)
            except Skip as r:
                reader.skip(it.key, r.path, r.message)
            except Refusal as r:
                reader.problems.append(Problem(it.key, r.path, r.message))
    for kind in registry:
        if kind.finish is not None:
            kind.finish(reader)
    return reader.plan


def identity(res: dict[str, Any]) -> str:
    """What a resource is known by across imports: its type and first identifier
    (``Type|system|value``), else its type and id (``Type/id``)."""
    rt = str(res.get("resourceType"))
    for i in res.get("identifier") or []:
        if isinstance(i, dict) and i.get("value"):
            return f"{rt}|{i.get('system') or ''}|{i['value']}"[:400]
    return f"{rt}/{res.get('id')}"[:400]


def _already(reader: Reader, it: Item) -> bool:
    """Whether an earlier import already wrote this resource for its (existing) patient:
    then it is not read again (records are history: a change is made in bontrack)."""
    hit = reader.existing_links.get(identity(it.resource))
    if hit is None:
        return False
    reader.linked[it.key] = hit
    return True


def import_items(session: Session, actor: Actor, ref: Reference, items: list[Item],
                 source: str, problems: list[Problem] | None = None,
                 registry: Registry = REGISTRY) -> Imported:
    """Validate, map and write resources held in memory, or refuse with every problem."""
    found = list(problems or []) + check_models(items, registry.types)
    inp = Input()
    for it in items:
        inp.held[len(inp.held)] = it.resource
        inp.entries.append(index_entry(it.resource, Entry(it.key, it.where, -1, len(inp.held) - 1,
                                                     0, full_url=it.full_url),
                                  {it.full_url: it.key for it in items if it.full_url}))
    return import_input(session, actor, ref, inp, source, found, registry)


def groups(inp: Input) -> list[list[Entry]]:
    """The input's entries one patient at a time, in the order patients appear: the patient
    and what is about them (a Medication goes with the Procedure that used it). What belongs
    to no patient in the input forms a last group, refused by its readers."""
    uses = {m: e.patient for e in inp.entries for m in e.uses}
    by_patient: dict[str | None, list[Entry]] = {}
    patients = {e.key for e in inp.entries if e.key.startswith("Patient/")}
    for e in inp.entries:
        owner = uses.get(e.key) if e.key.startswith("Medication/") else e.patient
        by_patient.setdefault(owner if owner in patients else None, []).append(e)
    orphans = by_patient.pop(None, [])
    order = [e.key for e in inp.entries if e.key.startswith("Patient/")]
    return [by_patient[k] for k in dict.fromkeys(order)] + ([orphans] if orphans else [])


def import_input(session: Session, actor: Actor, ref: Reference, inp: Input, source: str,
                 problems: list[Problem] | None = None, registry: Registry = REGISTRY
                 ) -> Imported:
    """The second pass, patient by patient (see the module's docstring)."""
    require_role(actor, ("admin", "clinician"), "import records")
    found = [p for p in problems or [] if not isinstance(p, Skipped)]
    skipped: list[Problem] = [p for p in problems or [] if isinstance(p, Skipped)]
    if not inp.entries and not found:
        raise ImportRefused([Problem(source, "", "contains no resources")])
    audit_names = {model: name for kind in registry for model, name in kind.audit.items()}
    users = clinic_users(session, actor)
    done = Imported(defaultdict(int), {})
    kept = set(registry.types)
    directory = {it.key: it.resource for it in inp.load(
        [e for e in inp.entries if e.key.split("/")[0] in DIRECTORY_TYPES])}
    mapped = Input(inp.files, [e for e in inp.entries if e.key.split("/")[0] in kept],
                   inp.held)
    if not mapped.entries and not found:
        raise ImportRefused([Problem(source, "", "nothing bontrack imports: "
                                     + ("; ".join(map(str, skipped)) or "no resources"))])
    for group in groups(mapped):
        reader = Reader(session, actor, ref, mapped.load(group), source, users, directory)
        plan = run(reader, registry)
        skipped += reader.skipped
        done.already += [f"{k}: already imported as {e} {i}"
                         for k, (e, i) in reader.linked.items()]
        # a control character is already named at its exact element path
        named = {p.resource for p in found if "control character" in p.message}
        rows = [(k, r) for k, r in plan.patients] + [
            (k, r) for rows in plan.children.values() for k, r, _ in rows]
        reader.problems += [p for k, r in rows for p in check_row(k, r)
                            if not (k in named and "control character" in p.message)]
        found += reader.problems
        if found:
            continue  # keep reading for every problem; nothing will be written
        try:
            write(session, actor, plan, source, reader.unmatched, audit_names,
                  partial(_recheck, ref, reader.claimed_totals), into=done)
            _link(session, actor, reader)
        except ImportRefused as refused:
            found += cast(list[Problem], refused.problems)  # the writer's are Problems
        session.expunge_all()  # the patient's rows are flushed: let them leave memory
    if found:
        raise ImportRefused(found)
    done.counts = dict(done.counts)
    done.skipped = skipped
    return done


def _link(session: Session, actor: Actor, reader: Reader) -> None:
    """Keep which record each written resource became (``import_links``), so importing
    the same resources again writes nothing twice."""
    now = audit.now()
    plan = reader.plan
    for pkey, patient in plan.patients:
        seen = set(reader.existing_links)  # one link per identity and patient
        for key, row, _ in plan.children.get(pkey, []):
            entity = type(row).__tablename__
            for k in [key, *reader.parts.get(key, [])]:
                res = reader.by_key.get(k)
                if res is None or row.id is None or identity(res) in seen:
                    continue
                seen.add(identity(res))
                session.add(ImportLink(clinic_id=actor.clinic_id, patient_id=patient.id,
                                       identity=identity(res), entity=entity,
                                       entity_id=row.id, created_at=now))
    session.flush()



def _recheck(ref: Reference, claimed: dict[str, Decimal], session: Session, patient: Patient,
             key: str, cy: Cycle) -> tuple[list[Problem], list[str]]:
    return recheck(session, ref, patient, key, cy, claimed.get(key))
