"""The stored rows behind FHIR resources, read with SQLAlchemy Core: the tables several
resource kinds share (patients, cycles, vials), the row sets an export loads per batch of
patients, and small helpers to fetch one row.

A kind names the row sets its exporter needs; the export loads the union of them, one
query per table per batch, so memory stays bounded by the batch size.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, groupby, repeat
from operator import itemgetter
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bontrack.numerals import digits_value
from bontrack.store.models import Clinic, Cycle, Patient, Vial

P, CY, V = Patient.__table__, Cycle.__table__, Vial.__table__
#: read with Core, not through the ORM model: the first ORM query of a process configures
#: every mapper (about 25 ms), which a bulk export does not otherwise need
CL = Clinic.__table__


@dataclass(frozen=True)
class RowSet:
    """A table's rows grouped by their patient (``by="patient"``) or by their cycle."""

    name: str
    table: Any
    by: Literal["patient", "cycle"] = "patient"


CYCLES = RowSet("cycles", CY)
VIALS = RowSet("vials", V, "cycle")


@dataclass
class Batch:
    """All rows of a set of patients, grouped by patient (or cycle) id, per row set name."""

    patients: list[Any]
    by_patient: dict[str, dict[int, tuple[Any, ...]]] = field(default_factory=dict)
    by_cycle: dict[str, dict[int, tuple[Any, ...]]] = field(default_factory=dict)
    #: serialised pieces several kinds share within this batch (a cycle's ``meta``, which
    #: its Encounter, Procedure, vials and injections all carry): gone with the batch
    pieces: dict[Any, bytes] = field(default_factory=dict)

    def of(self, rows: RowSet, owner: int) -> Sequence[Any]:
        """The rows of ``rows`` belonging to a patient or a cycle id (by the set's grouping);
        none: an empty tuple (a bulk export asks ten times per patient, most often for a
        cycle's findings or a patient's goals that are not there: nothing is allocated)."""
        grouped = self.by_patient if rows.by == "patient" else self.by_cycle
        return grouped.get(rows.name, _NONE).get(owner, ())

    def rows(self, rows: RowSet, patients: Sequence[Any]) -> Iterator[Any]:
        """The rows of ``rows`` (a row set grouped by patient) of these patients, patient
        after patient (a bulk export's byte-built lines take a few dozen patients at a
        call)."""
        assert rows.by == "patient", rows.name
        grouped = self.by_patient.get(rows.name, _NONE)
        return chain.from_iterable(map(grouped.get, [p.id for p in patients], repeat(())))


_NONE: dict[int, tuple[Any, ...]] = {}


def _group(rows: Sequence[Any], key: int) -> dict[int, tuple[Any, ...]]:
    """Rows sorted by their owner id (index ``key``) as a tuple per owner: no list per
    owner stays alive for the garbage collector to track (a tuple of plain rows is not
    tracked once it has been looked at)."""
    return {owner: tuple(group) for owner, group in groupby(rows, itemgetter(key))}


def columns(table: Any, *names: str) -> tuple[int, ...]:
    """Where ``names`` sit in a row of ``select(table)`` (index access is several times
    faster than a Row's attribute access, and a bulk export reads millions)."""
    order = [c.name for c in table.columns]
    return tuple(order.index(n) for n in names)


#: rows turned into tuples at a time (see ``_tuples``)
CHUNK = 256


def _tuples(result: Any) -> list[tuple[Any, ...]]:
    """A result's rows as plain tuples, its types' result processing applied as for a Row,
    copied ``CHUNK`` Rows at a time. (SQLAlchemy 2.1's private ``Result._raw_all_tuples``
    skips the Rows and would save about a twentieth of the export's CPU; it is not public
    API, and it would make the export's read cheaper than ``bench/fhir_export.py``'s raw
    read it is measured against, so it is not used.)"""
    return [tuple(r) for part in result.partitions(CHUNK) for r in part]


def load(session: Session, patient_rows: list[Any], rowsets: Iterable[RowSet],
         plain: Collection[str] = ()) -> Batch:
    """The rows of these patients in each row set, one query per set, in id order.

    The row sets named in ``plain`` come as plain tuples (read by index, as the bulk
    export's byte-built lines do; ``_tuples``): a batch's rows then live as tuples the
    garbage collector stops tracking, instead of tens of thousands of Row objects it walks
    at every full collection (and that are promoted to its oldest generation, which is what
    triggers one). The others come as Rows (attribute access)."""
    ids = [p.id for p in patient_rows]
    batch = Batch(patients=patient_rows)
    if not ids:
        return batch
    for rs in rowsets:
        t = rs.table
        # by owner, then id: each owner's rows in id order, and together (``_group``)
        if rs.by == "patient":
            stmt: Select[Any] = (select(t).where(t.c.patient_id.in_(ids))
                                 .order_by(t.c.patient_id, t.c.id))
            owner, grouped = columns(t, "patient_id")[0], batch.by_patient
        else:
            # each cycle's rows together, in id order; cycles in the order of the cycles
            # index (patient, date), which the join walks: SQLite then sorts nothing
            stmt = (select(t).join(CY, CY.c.id == t.c.cycle_id)
                    .where(CY.c.patient_id.in_(ids))
                    .order_by(CY.c.patient_id, CY.c.date, CY.c.id, t.c.id))
            owner, grouped = columns(t, "cycle_id")[0], batch.by_cycle
        result = session.execute(stmt)
        rows: Sequence[Any] = _tuples(result) if rs.name in plain else result.all()
        grouped[rs.name] = _group(rows, owner)
    return batch


def clinic_names(session: Session) -> dict[int, str]:
    return {r.id: r.name for r in session.execute(select(CL.c.id, CL.c.name))}


def row_id(rid: str) -> int | None:
    """A resource id as a row id: digits only, never longer than a bigint can hold."""
    return digits_value(rid, 18)


def one(session: Session, table: Any, rid: int) -> Any:
    """One row by id, or None."""
    return session.execute(select(table).where(table.c.id == rid)).first()


def find(session: Session, table: Any, rid: str) -> Any:
    """The row a resource id names, or None (an id that is not a row id names none)."""
    n = row_id(rid)
    return None if n is None else one(session, table, n)
