"""The command line's exports and imports (administrator work, run on the server itself):
a patient's FHIR Bundle, Bulk Data NDJSON, CSV tables, and FHIR import as one all-or-nothing
unit of work. Long reads run in a reading unit of work (``Database.reading``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.fhir import definitions, export
from bontrack.fhir.importer import import_input
from bontrack.fhir.reading import Input, Problem
from bontrack.fhir.registry import REGISTRY
from bontrack.fhir.writing import Imported
from bontrack.interop.csv_tables import write_tables
from bontrack.reference import Reference
from bontrack.services.access import Actor
from bontrack.services.accounts import active_actor
from bontrack.services.usecase import use_case
from bontrack.store.models import Clinic, Patient


@use_case()
def clinic_id(session: Session, name: str | None) -> int | None:
    """The id of the clinic of that name; None for no name; -1 when there is no such
    clinic (the command names its option)."""
    if name is None:
        return None
    found = session.scalar(select(Clinic.id).where(Clinic.name == name))
    return -1 if found is None else int(found)


@use_case()
def patient_bundle(session: Session, ref: Reference, patient_id: int) -> tuple[str, int] | None:
    """One patient's resources as a FHIR Bundle (collection) in JSON, each with its
    generated narrative, and how many; None when there is no such patient."""
    if session.get(Patient, patient_id) is None:
        return None
    ctx = export.context(session, ref)
    entries = [REGISTRY.narrate(r)
               for r in export.resources(session, ctx, patient_ids=[patient_id])]
    text = export.dumps(export.bundle(entries, timestamp=datetime.now(UTC).isoformat()))
    return text + "\n", len(entries)


@use_case()
def patient_count(session: Session, clinic: int | None) -> int:
    stmt = select(func.count()).select_from(Patient)
    if clinic is not None:
        stmt = stmt.where(Patient.clinic_id == clinic)
    return int(session.scalar(stmt) or 0)


@use_case()
def write_bulk(session: Session, ref: Reference, out_dir: Path, clinic: int | None,
               on_patients: Callable[[int], None] | None = None) -> dict[str, int]:
    """Every selected patient as Bulk Data NDJSON, one file per resource type."""
    return export.write_ndjson(session, export.context(session, ref), out_dir, clinic,
                               on_patients=on_patients)


@use_case()
def write_csv(session: Session, ref: Reference, out_dir: Path, clinic: int | None
              ) -> dict[str, int]:
    return write_tables(session, ref, out_dir, clinic)


@use_case()
def import_fhir(session: Session, username: str, ref: Reference, inp: Input,
                source: str, problems: list[Problem]) -> Imported | None:
    """Import as ``username`` (their clinic, their role rules): all or nothing. None when
    there is no active account of that name. ``inp`` is the first pass's index
    (``reading.scan_input``): the resources are read again, patient by patient."""
    actor = active_actor(session, username)
    if actor is None:
        return None
    return import_input(session, actor, ref, inp, source, problems)


@use_case()
def import_fhir_as(session: Session, actor: Actor, ref: Reference, inp: Input, source: str,
                   problems: list[Problem]) -> Imported:
    """``import_fhir`` as an already signed-in actor (the API): all or nothing for what is
    imported; what is skipped is listed in the result."""
    return import_input(session, actor, ref, inp, source, problems)


def write_definitions(ref: Reference, out_dir: Path) -> list[Path]:
    """bontrack's published FHIR definitions as files, ``<Type>-<id>.json`` (no database)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for d in definitions.published(ref).resources:
        path = out_dir / f"{d['resourceType']}-{d['id']}.json"
        path.write_text(json.dumps(d, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
