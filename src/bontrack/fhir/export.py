"""Export records as FHIR R4: a Bundle per patient, or Bulk Data NDJSON for a registry.

Rows are read with SQLAlchemy Core in batches of patients (keyset paging on the patient
id), each batch's children with one query per table (the row sets the registry's kinds
need), so memory stays bounded by the batch size whatever the size of the database. Each
kind, in registry order, maps its rows of a patient to resources.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session

from bontrack.fhir.kind import Kind
from bontrack.fhir.mapping import Context, Json
from bontrack.fhir.registry import REGISTRY, Registry
from bontrack.fhir.tables import Batch, P, clinic_names, load
from bontrack.reference import Reference
from bontrack.store.models import User

BATCH = 500
#: patients whose lines the bulk export gathers before writing them (one write per file)
FLUSH_EVERY = 50
#: the users table (read with Core, see ``context``)
U = User.__table__
#: The order resource types are written in (a Bundle lists a patient's resources so).
TYPES = REGISTRY.types


def context(session: Session, ref: Reference) -> Context:
    """The users' login and display names (few, even in a large registry). Read from the
    table, not the ORM model: the first ORM query of a process configures every mapper
    (about 25 ms, a tenth of a 500-patient export), and the export needs none."""
    rows = session.execute(select(U.c.id, U.c.username, U.c.display_name, U.c.role,
                                  U.c.patient_id)).all()
    users = {r.id: (r.username, r.display_name) for r in rows}
    patients = {r.id: r.patient_id for r in rows
                if r.role == "patient" and r.patient_id is not None}
    return Context(ref=ref, users=users, patients=patients)


def patient_resources(ctx: Context, batch: Batch, p: Any, clinic: str | None = None,
                      registry: Registry = REGISTRY) -> Iterator[Json]:
    """One patient's resources, kind by kind in registry order."""
    for kind in registry:
        yield from kind.export(ctx, batch, p, clinic)


def patient_batches(session: Session, clinic_id: int | None = None, size: int = BATCH,
                    patient_ids: Sequence[int] | None = None) -> Iterator[list[Any]]:
    """Patients in id order, ``size`` at a time (keyset paging: no OFFSET scans). Given
    ``patient_ids``, those of them (in the clinic), ``size`` ids per query: a long list
    never goes to the database as one huge ``IN``."""
    if patient_ids is not None:
        ids = sorted(set(patient_ids))
        for start in range(0, len(ids), size):
            stmt: Select[Any] = select(P).where(P.c.id.in_(ids[start:start + size]))
            if clinic_id is not None:
                stmt = stmt.where(P.c.clinic_id == clinic_id)
            rows = list(session.execute(stmt.order_by(P.c.id)).all())
            if rows:
                yield rows
        return
    last = 0
    while True:
        stmt = select(P).where(P.c.id > last)
        if clinic_id is not None:
            stmt = stmt.where(P.c.clinic_id == clinic_id)
        rows = list(session.execute(stmt.order_by(P.c.id).limit(size)).all())
        if not rows:
            return
        yield rows
        last = rows[-1].id


def changed_patients(session: Session, since: datetime, clinic_id: int | None = None,
                     registry: Registry = REGISTRY) -> list[int]:
    """The ids of the patients with a row changed after ``since``: any search source's
    ``updated`` column (what ``_lastUpdated`` filters on, and what each resource's
    ``meta.lastUpdated`` is made from), in one query. A bulk export ``_since`` reads only
    these patients' rows; their resources are then kept by ``meta.lastUpdated`` itself."""
    parts = []
    for kind in registry:
        for src in kind.sources:
            if src.updated is None:
                continue
            base = src.table
            if src.join is not None:
                base = base.join(src.join, src.join.c.id == src.table.c.cycle_id)
            parts.append(select(src.patient.label("pid")).select_from(base)
                         .where(src.updated > since))
    changed = union(*parts).subquery()
    stmt: Select[Any] = select(P.c.id).where(P.c.id.in_(select(changed.c.pid)))
    if clinic_id is not None:
        stmt = stmt.where(P.c.clinic_id == clinic_id)
    return list(session.scalars(stmt.order_by(P.c.id)))


def changed_after(resource: Json, since: datetime) -> bool:
    """Whether a resource's ``meta.lastUpdated`` is later than ``since`` (Bulk Data
    ``_since``); one without a time of change is kept, as the IG allows."""
    updated = (resource.get("meta") or {}).get("lastUpdated")
    return updated is None or datetime.fromisoformat(updated) > since


def resources(session: Session, ctx: Context, clinic_id: int | None = None,
              patient_ids: Sequence[int] | None = None, size: int = BATCH,
              registry: Registry = REGISTRY) -> Iterator[Json]:
    """Every resource of the selected patients, patient by patient, streamed."""
    clinics = clinic_names(session)
    for rows in patient_batches(session, clinic_id, size, patient_ids):
        batch = load(session, rows, registry.rowsets)
        for p in rows:
            yield from patient_resources(ctx, batch, p, clinics.get(p.clinic_id), registry)


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


def share_rows(kinds: Sequence[Kind]) -> list[list[Kind]]:
    """The kinds in groups that share no row set with one another (Encounter, Procedure,
    Medication and MedicationAdministration all read a batch's cycles), in the order of
    each group's first kind; a kind with no row set (Patient) is a group of its own."""
    groups: list[tuple[set[str], list[Kind]]] = []
    for k in kinds:
        names = {rs.name for rs in k.rows}
        joined = [g for g in groups if g[0] & names]
        groups = [g for g in groups if not g[0] & names] + [
            (names.union(*(g[0] for g in joined)), [m for g in joined for m in g[1]] + [k])]
    order = {k.name: i for i, k in enumerate(kinds)}
    return sorted((sorted(g, key=lambda k: order[k.name]) for _, g in groups),
                  key=lambda g: order[g[0].name])


def _iov_max() -> int:
    """The most pieces one ``os.writev`` takes (at most 1024, Linux's limit; POSIX's least,
    16, when the system does not say); 0: there is no ``writev``."""
    if not hasattr(os, "writev"):
        return 0
    try:
        n = os.sysconf("SC_IOV_MAX")
    except (ValueError, OSError):
        n = -1
    return min(n, 1024) if n > 0 else 16


IOV_MAX = _iov_max()


def write_lines(f: IO[bytes], lines: list[bytes]) -> None:
    """Write ``lines`` to the unbuffered file ``f`` as they are: ``os.writev`` hands the
    kernel the pieces, so they are copied once, into the file, not first into one joined
    string of a few MiB (a copy, and fresh pages to fault in, at every flush). Where there
    is no ``writev``, the lines are joined; whatever the kernel did not take is written
    again until it has all."""
    fd = f.fileno()
    if not IOV_MAX:
        _write_all(fd, b"".join(lines))
        return
    for start in range(0, len(lines), IOV_MAX):
        part = lines[start:start + IOV_MAX]
        n = os.writev(fd, part)
        if n < sum(map(len, part)):
            _write_all(fd, b"".join(part)[n:])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_ndjson(session: Session, ctx: Context, out_dir: Path, clinic_id: int | None = None,
                 types: Sequence[str] = TYPES, on_patients: Callable[[int], None] | None = None,
                 size: int = BATCH, patient_ids: Sequence[int] | None = None,
                 registry: Registry = REGISTRY, since: datetime | None = None
                 ) -> dict[str, int]:
    """Bulk Data output: one ``<Type>.ndjson`` file per resource type, written as the
    batches stream past (one write per file per batch). Kinds with a ``lines`` exporter
    give their lines as bytes (``fhir/lines.py``), the others' dicts are serialised here.
    With ``since`` (Bulk Data ``_since``), only the patients ``changed_patients`` finds are
    read and only resources whose ``meta.lastUpdated`` is later are written (through the
    dict path, whose ``meta`` the check reads). Returns the number of resources written per
    type."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, IO[bytes]] = {}
    counts: dict[str, int] = dict.fromkeys(types, 0)
    clinics = clinic_names(session)
    kinds = [k for k in registry if k.name in counts]
    rowsets = tuple({rs.name: rs for k in kinds for rs in k.rows}.values())
    # the row sets only byte-built lines read (by index) come as plain tuples (tables.load);
    # a kind serialised from its dicts reads its rows by attribute
    by_attribute = {rs.name for k in kinds if k.lines is None or since is not None
                    for rs in k.rows}
    plain = {rs.name for rs in rowsets} - by_attribute
    if since is not None:
        changed = changed_patients(session, since, clinic_id, registry)
        if patient_ids is not None:
            wanted = set(patient_ids)
            changed = [i for i in changed if i in wanted]
        patient_ids = changed
    try:
        for t in types:
            files[t] = (out_dir / f"{t}.ndjson").open("wb", buffering=0)  # write_lines
        dump, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        out: dict[str, list[bytes]] = {k.name: [] for k in kinds}

        def flush() -> None:
            for name, lines in out.items():
                if lines:
                    write_lines(files[name], lines)
                    counts[name] += len(lines)
                    lines.clear()

        # the byte-built kinds give the lines of FLUSH_EVERY patients at a call; the others
        # (and every kind with ``since``) their dicts, patient by patient. Each kind has its
        # own file, so each file is in patient order either way.
        groups = [([(k.lines, out[k.name]) for k in group
                    if k.lines is not None and since is None],
                   [(k.export, out[k.name]) for k in group
                    if k.lines is None or since is not None],
                   tuple({rs.name: rs for k in group for rs in k.rows}.values()))
                  for group in share_rows(kinds)]
        for rows in patient_batches(session, clinic_id, size, patient_ids):
            # the kinds that share row sets (a cycle's four) together, one group after
            # another: a group's rows are read, written out and let go before the next
            # group's are read, so a batch never holds every row set at once (a third less
            # memory to fault in, and fewer objects for the garbage collector to walk)
            for fast, slow, group_rowsets in groups:
                batch = load(session, rows, group_rowsets, plain)
                for start in range(0, len(rows), FLUSH_EVERY):
                    chunk = rows[start:start + FLUSH_EVERY]
                    for lines_of, lines in fast:
                        lines.extend(lines_of(ctx, batch, chunk, clinics))
                    for export_of, lines in slow:
                        for p in chunk:
                            found = export_of(ctx, batch, p, clinics.get(p.clinic_id))
                            lines.extend(dump(r, option=newline) for r in found
                                         if since is None or changed_after(r, since))
                    flush()  # a few MiB at a time, not a whole batch's files
                del batch
            if on_patients:
                on_patients(len(rows))
    finally:
        for f in files.values():
            f.close()
    return counts
