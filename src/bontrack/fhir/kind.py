"""One FHIR resource kind: everything bontrack does with one resource type, in one value.

A kind module (``fhir/kinds/<type>.py``) builds one ``Kind``; ``fhir/registry.py`` lists the
kinds in order. Export, read, search, import and the CapabilityStatement iterate that list
and call what a kind declares here, so a new resource is one module plus one registry line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bontrack.fhir.mapping import Context, Json
from bontrack.fhir.narrative import Summary
from bontrack.fhir.query import ParamType, Source
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import Batch, RowSet

#: (ctx, batch, patient row, clinic name) -> this kind's resources of that patient.
Exporter = Callable[[Context, Batch, Any, str | None], Iterator[Json]]
#: (ctx, batch, patient rows, clinic names by id) -> this kind's NDJSON lines of those
#: patients, patient by patient (the bulk export's fast path, ``fhir/lines.py``).
LinesExporter = Callable[[Context, Batch, Sequence[Any], Mapping[int, str]], Iterator[bytes]]
#: (session, ctx, resource id) -> (resource, its patient's id), or None if there is none.
Fetcher = Callable[[Session, Context, str], tuple[Json, int] | None]
#: (reader, key, resource) -> None: the resource mapped into ``reader.plan`` (unsaved rows);
#: raises ``elements.Refusal`` naming the element it cannot map.
Importer = Callable[[Reader, str, dict[str, Any]], None]
#: (reader) -> None: checks that need the whole input, after every resource was read.
Finisher = Callable[[Reader], None]
#: (session, resource) -> the id of the cycle the resource belongs to, if any (a patient is
#: not shown the resources of a cycle never given: a plan).
CycleOf = Callable[[Session, Json], int | None]


@dataclass(frozen=True)
class Kind:
    """A FHIR resource type as bontrack stores, exports, serves and imports it.

    - ``store``: the ORM models its rows come from (and an import writes).
    - ``rows``: the row sets the exporter needs loaded for each batch of patients.
    - ``export``: the resources of one patient; ``fetch``: one resource by id (read).
    - ``read``: the importer's reader: an incoming resource (already checked against its R4
      model, ``fhir.resources.R4B.<type>``) mapped into unsaved rows of the import plan.
    - ``audit``: the audit entity name of each model an import writes (``import`` events).
    - ``after``: the kinds whose resources must be read first (a Condition's patient).
    - ``sources`` and ``params``: search; a kind without sources is read-only.
    - ``includes``: the references ``_include`` follows (and ``_revinclude`` reverses).
    - ``operations``: (name, definition) of operations on the type, for the
      CapabilityStatement.
    - ``lines``: optional, ``export`` as NDJSON bytes (identical), for the bulk export, for
      several patients at a call (the per-call setup, its memo tables, is paid once for
      them). It reads its rows by index: the bulk export hands it plain tuples
      (``tables.load``).
    """

    name: str
    store: tuple[type, ...]
    rows: tuple[RowSet, ...]
    export: Exporter
    fetch: Fetcher
    read: Importer
    audit: Mapping[type, str] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    finish: Finisher | None = None
    sources: tuple[Source, ...] = ()
    params: Mapping[str, ParamType] = field(default_factory=dict)
    cycle_of: CycleOf | None = None
    operations: tuple[tuple[str, str], ...] = ()
    #: ``_include``: search parameter -> (element holding the reference, target type); the
    #: reverse of each one pointing at a Patient is a ``_revinclude`` of Patient
    includes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: the same resources as ``export``, as NDJSON lines built from byte pieces, of several
    #: patients in turn (the bulk export's fast path, ``fhir/lines.py``); None: the export
    #: serialises ``export``'s dicts
    lines: LinesExporter | None = None
    #: the heading and facts of the generated narrative (``fhir/narrative.py``); None: the
    #: generic summary
    narrative: Summary | None = None

    @property
    def searchable(self) -> bool:
        return bool(self.sources)
