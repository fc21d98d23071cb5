"""The CapabilityStatement of the ``/fhir`` facade, drawn from the registry: each kind with
its interactions (read; search-type when it has search sources), its search parameters
and its operations, so what the server announces is what it serves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bontrack import __version__
from bontrack.fhir.registry import REGISTRY, Registry
from bontrack.fhir.search import accepted

#: FHIR types of the common parameters, as the CapabilityStatement names them.
COMMON_TYPES = {"_id": "token", "_count": "number", "_offset": "number", "_sort": "string",
                "_summary": "token", "_elements": "string", "_lastUpdated": "date"}


def capability_statement(base: str, registry: Registry = REGISTRY) -> dict[str, Any]:
    resources = []
    for kind in registry:
        if not kind.searchable:
            resources.append({"type": kind.name, "interaction": [{"code": "read"}]})
            continue
        params = [{"name": name, "type": ptype or COMMON_TYPES[name]}
                  for name, ptype in accepted(kind.params, kind.sources).items()
                  if ptype is not None or name in COMMON_TYPES]
        entry: dict[str, Any] = {"type": kind.name,
                                 "interaction": [{"code": "read"}, {"code": "search-type"}],
                                 "searchParam": params}
        if kind.operations:
            entry["operation"] = [{"name": name, "definition": definition}
                                  for name, definition in kind.operations]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement", "status": "active",
        "date": datetime.now(UTC).date().isoformat(), "kind": "instance",
        "software": {"name": "bontrack", "version": __version__},
        "implementation": {"description": "bontrack FHIR R4 facade", "url": base},
        "fhirVersion": "4.0.1", "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Bearer token from POST /api/v1/auth/token. Search parameters "
            "(and modifiers) not listed are refused with 400, unless the request says "
            "'Prefer: handling=lenient': then they are ignored, left out of the self link "
            "and named in an OperationOutcome entry. String parameters take :exact and "
            ":contains. Repeated parameters mean AND, a comma OR. Paging with _count (at "
            "most 200) and the next link; _summary=count gives the total alone; _elements "
            "cuts resources down (tagged SUBSETTED). The facade is read-only: writes "
            "answer 405.",
            "security": {"description": "OAuth-style bearer token; same roles and clinic "
                         "separation as the REST API"},
            "resource": resources,
            "operation": [{"name": "export", "definition":
                           "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}],
        }],
    }
