"""The CapabilityStatement of the ``/fhir`` facade, drawn from the registry: each kind with
its interactions (read; search-type when it has search sources), its search parameters
and its operations, so what the server announces is what it serves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bontrack import __version__
from bontrack.fhir.definitions import TYPES as DEFINITION_TYPES
from bontrack.fhir.group import GROUP_EXPORT
from bontrack.fhir.registry import REGISTRY, Registry
from bontrack.fhir.search import accepted, includes, revincludes, sort_keys

#: FHIR types of the common parameters, as the CapabilityStatement names them.
COMMON_TYPES = {"_id": "token", "_count": "number", "_offset": "number", "_sort": "string",
                "_summary": "token", "_elements": "string", "_lastUpdated": "date"}


#: What every resource type says of versions: ``meta.versionId`` is the stored record's
#: version (``versioned``), no history is served (``readHistory``), and a read honours
#: ``If-None-Match`` and ``If-Modified-Since`` (``full-support``: answered 304). The facade
#: is read-only: no update or create.
VERSIONING: dict[str, Any] = {"versioning": "versioned", "readHistory": False,
                              "updateCreate": False, "conditionalRead": "full-support"}


#: The Bulk Data kick-off parameters every level takes (``fhir.bulk.parse_request``).
EXPORT_DOC = ("Bulk Data Access IG v2.0.0 kick-off (GET, or POST with a Parameters resource), "
              "admins and clinicians, of their own clinic only. Parameters: _type (comma-"
              "separated, repeatable; the types listed here except Group), _since (a FHIR "
              "instant with a zone: resources whose meta.lastUpdated is later), "
              "_outputFormat (application/fhir+ndjson, application/ndjson, ndjson). Other "
              "parameters and types are refused with 400, unless the request says 'Prefer: "
              "handling=lenient': then they are ignored and reported in the manifest's error "
              "file (OperationOutcome). A _since that is not an instant is refused either way.")


def group_entry() -> dict[str, Any]:
    """Group: a clinic and its patients, read and exported (``fhir.group``); no search,
    no versions."""
    return {"type": "Group", "interaction": [{"code": "read"}], "versioning": "no-version",
            "readHistory": False, "updateCreate": False, "conditionalRead": "not-supported",
            "documentation": "A clinic as a Group (type person, actual) of its patients; "
            "read by the clinic's staff, Group/[id]/$export by its admins and clinicians. "
            "Another clinic's Group is not found.",
            "operation": [{"name": "export", "definition": GROUP_EXPORT,
                           "documentation": EXPORT_DOC}]}


def definition_entries() -> list[dict[str, Any]]:
    """bontrack's published definitions (``fhir.definitions``): read and search without a
    token, as they hold no patient data."""
    return [{"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}],
             "versioning": "no-version", "readHistory": False, "updateCreate": False,
             "conditionalRead": "not-supported",
             "documentation": f"bontrack's published {kind} resources (docs/fhir.md, "
             "'Published definitions'), each also named by its canonical URL under "
             "https://fhir.bontrack.org; no sign-in needed. Other search parameters are "
             "refused with 400 (ignored with 'Prefer: handling=lenient').",
             "searchParam": [{"name": "url", "type": "uri"}, {"name": "_id", "type": "token"},
                             {"name": "name", "type": "string"},
                             {"name": "status", "type": "token"}]}
            for kind in DEFINITION_TYPES]


def capability_statement(base: str, registry: Registry = REGISTRY) -> dict[str, Any]:
    resources = []
    for kind in registry:
        if not kind.searchable:
            resources.append({"type": kind.name, "interaction": [{"code": "read"}],
                              **VERSIONING})
            continue
        params = [{"name": name, "type": ptype or COMMON_TYPES[name]}
                  for name, ptype in accepted(kind.params, kind.sources).items()
                  if ptype is not None or name in COMMON_TYPES]
        entry: dict[str, Any] = {"type": kind.name,
                                 "interaction": [{"code": "read"}, {"code": "search-type"}],
                                 **VERSIONING}
        if includes(kind):
            entry["searchInclude"] = list(includes(kind))
        if revincludes(kind, registry):
            entry["searchRevInclude"] = list(revincludes(kind, registry))
        for p in params:
            if p["name"] == "_sort":
                p["documentation"] = ("sort keys: " + ", ".join(sort_keys(kind))
                                      + " (- for descending)")
        entry["searchParam"] = params
        if kind.operations:
            entry["operation"] = [
                {"name": name, "definition": definition,
                 **({"documentation": EXPORT_DOC} if name == "export" else {})}
                for name, definition in kind.operations]
        resources.append(entry)
    resources.append(group_entry())
    resources += definition_entries()
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
            "cuts resources down (tagged SUBSETTED). _sort takes _id, _lastUpdated and the "
            "type's date parameters (- for descending; anything else is refused with 400). "
            "_include and _revinclude take the values each type lists (searchInclude, "
            "searchRevInclude; others 400), adding resources the user may read as "
            "search.mode include, at most 1000 per page. Every resource carries "
            "meta.versionId and meta.lastUpdated; a read answers ETag W/\"<versionId>\" and "
            "Last-Modified, and 304 to a matching If-None-Match or If-Modified-Since. No "
            "history. The facade is read-only: writes answer 405.",
            "security": {"description": "OAuth-style bearer token; same roles and clinic "
                         "separation as the REST API"},
            "resource": resources,
            "operation": [{"name": "export", "definition":
                           "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                           "documentation": EXPORT_DOC}],
        }],
    }
