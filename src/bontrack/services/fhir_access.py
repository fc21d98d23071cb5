"""The FHIR facade's use cases: search, read, $everything and Bulk Data $export, each in the
caller's unit of work with the same access rules and audit as the REST API (the mapping,
search and export themselves live in ``bontrack.fhir``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from bontrack.fhir import export, search
from bontrack.fhir.bulk import Job, Jobs
from bontrack.fhir.mapping import Json
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import Actor, require_role
from bontrack.services.usecase import use_case
from bontrack.store.uow import UnitOfWork


@use_case()
def search_page(session: Session, actor: Actor, ref: Reference, kind: str,
                params: list[tuple[str, str]]) -> search.Page:
    """One page of a type search (the reader's clinic and role rules apply)."""
    return search.search(session, actor, export.context(session, ref), kind, params)


@use_case()
def read_resource(session: Session, actor: Actor, ref: Reference, kind: str, rid: str
                  ) -> Json:
    return search.read(session, actor, export.context(session, ref), kind, rid)


@use_case()
def everything(session: Session, actor: Actor, ref: Reference, patient_id: str
               ) -> list[Json]:
    """Patient/$everything: the patient's resources."""
    return search.everything(session, actor, export.context(session, ref), patient_id)


@use_case()
def start_export(session: Session, actor: Actor, ref: Reference, jobs: Jobs,
                 reading: Callable[[], UnitOfWork], types: tuple[str, ...], request: str
                 ) -> Job:
    """Start a Bulk Data export of the actor's clinic (admins and clinicians), audited."""
    require_role(actor, ("admin", "clinician"), "start a bulk export")
    job = jobs.start(session, reading, export.context(session, ref), actor.clinic_id, types,
                     request)
    audit.record(session, actor, "export", "fhir:bulk",
                 detail=f"job={job.id} types={','.join(types)} patients={job.total}")
    return job


@use_case()
def export_file(session: Session, actor: Actor, jobs: Jobs, job_id: str, name: str) -> Path:
    """A finished export's file, its download audited."""
    path = jobs.file(job_id, actor.clinic_id, name)
    audit.record(session, actor, "read", "fhir:bulk", detail=f"job={job_id} file={name}")
    return path
