"""The FHIR facade's use cases: search, read, $everything and Bulk Data $export, each in the
caller's unit of work with the same access rules and audit as the REST API (the mapping,
search and export themselves live in ``bontrack.fhir``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy.orm import Session

from bontrack.errors import AccessDenied, BadSearch, InvalidRecord, NotFound
from bontrack.fhir import definitions, export, group, narrative, search
from bontrack.fhir.bulk import ExportRequest, Jobs, JobView, Requester
from bontrack.fhir.mapping import Json
from bontrack.fhir.registry import REGISTRY
from bontrack.numerals import is_digits
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import Actor, require_role
from bontrack.services.schemas import holds_id
from bontrack.services.usecase import use_case

#: Search parameters whose values are record ids (``_id=12,weight-3``, ``patient=Patient/12``).
ID_PARAMS = ("_id", "patient", "subject")


def holds_rid(rid: str) -> bool:
    """Whether a FHIR id can name a row: ASCII digits (``³`` passes ``str.isdigit`` but not
    ``int``), optionally after ``weight-``, within the database's INTEGER range. Anything
    else was a 500 from the database (issue 15); it names nothing, so it is "not found"."""
    digits = rid.removeprefix("weight-")
    return is_digits(digits, 18) and holds_id(int(digits))


def _check_id_params(params: list[tuple[str, str]]) -> None:
    """Refuse, naming the parameter, an id no record can have and a count or offset past
    what the database takes (before any query)."""
    for name, raw in params:
        if name in ("_count", "_offset") and not (is_digits(raw, 18) and holds_id(int(raw))):
            raise InvalidRecord(f"{name} must be a whole number, got {raw[:40]!r}",
                                field=name)
        if name not in ID_PARAMS:
            continue
        for one in raw.split(","):
            rid = one.rsplit("/", 1)[-1] if name != "_id" else one
            if any(ch.isdigit() for ch in rid) and not holds_rid(rid):
                raise InvalidRecord(f"{name}: {one!r} is not an id this server can hold",
                                    field=name)


@use_case()
def search_page(session: Session, actor: Actor, ref: Reference, kind: str,
                params: list[tuple[str, str]], lenient: bool = False) -> search.Page:
    """One page of a type search (the reader's clinic and role rules apply), each match
    and included resource with its generated narrative."""
    _check_id_params(params)
    page = search.search(session, actor, export.context(session, ref), kind, params,
                         lenient=lenient)
    return replace(page, resources=[REGISTRY.narrate(r) for r in page.resources],
                   included=(None if page.included is None
                             else [REGISTRY.narrate(r) for r in page.included]))


@use_case()
def read_resource(session: Session, actor: Actor, ref: Reference, kind: str, rid: str
                  ) -> Json:
    if not holds_rid(rid):
        raise NotFound(f"{kind}/{rid} not found")
    return REGISTRY.narrate(search.read(session, actor, export.context(session, ref), kind,
                                      rid))


@use_case()
def everything(session: Session, actor: Actor, ref: Reference, patient_id: str
               ) -> list[Json]:
    """Patient/$everything: the patient's resources."""
    if not (is_digits(patient_id, 18) and holds_id(int(patient_id))):
        raise NotFound(f"Patient/{patient_id} not found")
    return [REGISTRY.narrate(r) for r in
            search.everything(session, actor, export.context(session, ref), patient_id)]


def requester(actor: Actor) -> Requester:
    """Who asks about an export job: its starter, or an admin of its clinic, may see it."""
    return Requester(actor.user_id, actor.clinic_id, actor.role == "admin")


def _own_group(session: Session, actor: Actor, group_id: str) -> tuple[int, str]:
    """The clinic a Group id names, if it is the actor's (staff only): another clinic's
    Group, like another clinic's patient, is "not found"; a patient may not list the
    clinic's patients (403)."""
    row = group.clinic_of(session, group_id)
    if row is None or row.id != actor.clinic_id:
        raise NotFound(f"Group/{group_id} not found")
    if not actor.is_staff:
        raise AccessDenied(f"a {actor.role} may not read the clinic's patient group",
                           entity="fhir:Group")
    return row.id, row.name


@use_case()
def read_group(session: Session, actor: Actor, group_id: str) -> Json:
    """``GET /fhir/Group/[id]``: the actor's clinic as a Group of its patients, audited."""
    clinic_id, name = _own_group(session, actor, group_id)
    resource = group.group_resource(clinic_id, name, group.member_ids(session, clinic_id))
    audit.record(session, actor, "read", "fhir:Group", clinic_id,
                 detail=f"members={resource['quantity']}")
    return narrative.with_narrative(resource, narrative.group)


@use_case()
def start_export(session: Session, actor: Actor, jobs: Jobs, types: tuple[str, ...],
                 request: str, asked: ExportRequest | None = None,
                 group_id: str | None = None) -> JobView:
    """Queue a Bulk Data export of the actor's clinic (admins and clinicians), audited; a
    worker runs it once this transaction commits (``fhir.bulk``). ``group_id``: a
    ``Group/[id]/$export``, of the actor's own clinic only."""
    require_role(actor, ("admin", "clinician"), "start a bulk export")
    clinic = _own_group(session, actor, group_id)[0] if group_id is not None else None
    asked = asked or ExportRequest(types)
    job = jobs.start(session, requester(actor), types, request, asked, clinic)
    since = f" since={asked.since.isoformat()}" if asked.since else ""
    where = f" group={clinic}" if clinic is not None else ""
    audit.record(session, actor, "export", "fhir:bulk",
                 detail=f"job={job.id} types={','.join(types)} patients={job.total}"
                        f"{since}{where}"[:400])
    return job


@use_case()
def export_status(session: Session, actor: Actor, jobs: Jobs, job_id: str) -> JobView:
    """A job's state, for its starter and the clinic's admins only."""
    return jobs.get(session, job_id, requester(actor))


@use_case()
def cancel_export(session: Session, actor: Actor, jobs: Jobs, job_id: str) -> None:
    """Cancel a job and remove its files (its starter or an admin of the clinic), audited."""
    jobs.delete(session, job_id, requester(actor))
    audit.record(session, actor, "cancel", "fhir:bulk", detail=f"job={job_id}")


@use_case()
def export_file(session: Session, actor: Actor, jobs: Jobs, job_id: str, name: str) -> Path:
    """A finished export's file, its download audited."""
    path = jobs.file(session, job_id, requester(actor), name)
    audit.record(session, actor, "read", "fhir:bulk", detail=f"job={job_id} file={name}")
    return path


# ---- published definitions (conformance resources: no patient data, no sign-in) -------

#: The search parameters of the definition types: url (the canonical), _id, name, status.
DEFINITION_PARAMS = ("url", "_id", "name", "status")


def read_definition(ref: Reference, kind: str, rid: str) -> Json:
    """A published StructureDefinition, CodeSystem, ValueSet or NamingSystem by id."""
    found = definitions.published(ref).by_id.get((kind, rid))
    if found is None:
        raise NotFound(f"{kind}/{rid} not found")
    return found


def search_definitions(ref: Reference, kind: str, params: list[tuple[str, str]],
                       lenient: bool = False) -> tuple[list[Json], list[str]]:
    """The published definitions of ``kind`` matching every parameter (a comma means OR),
    and the parameters ignored (unknown ones: refused with 400 naming them, unless
    ``lenient``)."""
    found = definitions.published(ref).of_type(kind)
    ignored: list[str] = []
    for name, raw in params:
        if name not in DEFINITION_PARAMS:
            if not lenient:
                raise BadSearch(f"{name}: not a search parameter of {kind} (these are: "
                                f"{', '.join(DEFINITION_PARAMS)})", field=name)
            ignored.append(name)
            continue
        wanted = set(raw.split(","))
        key = "id" if name == "_id" else name
        found = [d for d in found if str(d.get(key) or (
            d["uniqueId"][0]["value"] if key == "url" and "uniqueId" in d else "")) in wanted]
    return found, ignored
