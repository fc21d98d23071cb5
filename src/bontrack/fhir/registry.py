"""The one table of FHIR resource types bontrack exports, serves and imports.

Its order is the order of a patient's resources in a Bundle and in the Bulk Data files,
and the order an import reads them (a kind comes after the kinds it depends on: checked
when the registry is built). Export, read, search, import and the CapabilityStatement all
iterate it; no other module lists the types. A new resource: its module in
``fhir/kinds/`` and one line here (docs/architecture.md, "Recipe: a new FHIR resource").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bontrack.fhir.kind import Kind
from bontrack.fhir.kinds import (
    adverse_event,
    condition,
    encounter,
    goal,
    medication,
    medication_administration,
    observation,
    patient,
    procedure,
    questionnaire_response,
)
from bontrack.fhir.mapping import Json
from bontrack.fhir.narrative import with_narrative
from bontrack.fhir.tables import RowSet


class Registry:
    """Resource kinds in order, by FHIR type name."""

    def __init__(self, kinds: Iterable[Kind]) -> None:
        self.kinds: tuple[Kind, ...] = tuple(kinds)
        self._by_name = {k.name: k for k in self.kinds}
        if len(self._by_name) != len(self.kinds):
            raise ValueError("a FHIR resource type is registered twice")
        seen: set[str] = set()
        for k in self.kinds:
            missing = [a for a in k.after if a not in seen]
            if missing:
                raise ValueError(f"{k.name} is read after {', '.join(missing)}: list "
                                 "them before it in the registry")
            seen.add(k.name)

    def __iter__(self) -> Iterator[Kind]:
        return iter(self.kinds)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Kind | None:
        return self._by_name.get(name)

    @property
    def types(self) -> tuple[str, ...]:
        """Every type, in order (export, read, import)."""
        return tuple(k.name for k in self.kinds)

    @property
    def searchable(self) -> tuple[str, ...]:
        """The types with a search interaction."""
        return tuple(k.name for k in self.kinds if k.searchable)

    @property
    def rowsets(self) -> tuple[RowSet, ...]:
        """The row sets every exporter together needs, each once, in first-use order."""
        out: dict[str, RowSet] = {}
        for k in self.kinds:
            for rs in k.rows:
                out.setdefault(rs.name, rs)
        return tuple(out.values())

    def narrate(self, resource: Json) -> Json:
        """The resource with its generated narrative, from its kind's summary
        (``fhir/narrative.py``; the generic one for a type not registered)."""
        kind = self.get(str(resource.get("resourceType")))
        return with_narrative(resource, kind.narrative if kind else None)

    def with_kind(self, kind: Kind) -> Registry:
        """A copy with one more kind at the end (tests, extensions); this one is unchanged."""
        return Registry((*self.kinds, kind))


REGISTRY = Registry((
    patient.KIND,
    condition.KIND,
    encounter.KIND,
    procedure.KIND,
    medication.KIND,
    medication_administration.KIND,
    observation.KIND,
    goal.KIND,
    adverse_event.KIND,
    questionnaire_response.KIND,
))
