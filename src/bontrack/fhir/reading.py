"""Reading FHIR input for import: a Bundle, an NDJSON file or a Bulk Data directory, each
resource checked against the R4 model (fhir.resources R4B) before any mapping.

Problems are collected, never raised one by one, so a person sees every reason a file was
refused in one go: one line per problem, naming the resource and the element path.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bontrack.errors import BontrackError
from bontrack.errors import ImportRefused as ImportRefused  # re-exported for the importer


@dataclass(frozen=True)
class Problem:
    resource: str  # e.g. Patient/12, or the file and line when there is no resource yet
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource} {self.path}: {self.message}" if self.path else \
            f"{self.resource}: {self.message}"


@dataclass
class Item:
    """One resource read from the input, with where it came from."""

    resource: dict[str, Any]
    where: str
    full_url: str | None = None

    @property
    def key(self) -> str:
        return f"{self.resource.get('resourceType')}/{self.resource.get('id')}"


def read_input(path: Path) -> tuple[list[Item], list[Problem]]:
    """Resources from a Bundle (JSON), NDJSON, or a directory of ``*.ndjson`` files."""
    problems: list[Problem] = []
    items: list[Item] = []
    if not path.exists():
        raise BontrackError(f"{path}: no such file or directory")
    files = sorted(path.glob("*.ndjson")) if path.is_dir() else [path]
    if not files:
        raise BontrackError(f"{path}: no .ndjson files in this directory")
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BontrackError(f"{f}: cannot be read ({exc})") from None
        stripped = text.lstrip()
        whole: Any = None
        if stripped.startswith("{"):
            try:
                whole = json.loads(text)
            except ValueError:
                whole = None  # several lines: NDJSON
        if isinstance(whole, dict) and whole.get("resourceType") == "Bundle":
            for i, e in enumerate(whole.get("entry") or []):
                res = e.get("resource") if isinstance(e, dict) else None
                if not isinstance(res, dict):
                    problems.append(Problem(f"{f.name}", f"entry[{i}]", "has no resource"))
                    continue
                items.append(Item(res, f"{f.name} entry[{i}]", e.get("fullUrl")))
        elif isinstance(whole, dict):
            items.append(Item(whole, f.name))
        else:
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    res = json.loads(line)
                except ValueError as exc:
                    problems.append(Problem(f"{f.name} line {n}", "", f"not JSON ({exc})"))
                    continue
                if not isinstance(res, dict):
                    problems.append(Problem(f"{f.name} line {n}", "", "not a JSON object"))
                    continue
                items.append(Item(res, f"{f.name} line {n}"))
    return items, problems


def check_models(items: list[Item], supported: Sequence[str]) -> list[Problem]:
    """Each resource of a ``supported`` type (the registry's) against its R4 model
    (``fhir.resources.R4B.<type>``): types, required elements, primitive formats."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for it in items:
        rt = it.resource.get("resourceType")
        rid = it.resource.get("id")
        label = it.key if rid else f"{rt} ({it.where})"
        if rt not in supported:
            problems.append(Problem(label, "resourceType", f"{rt!r} cannot be imported; "
                                    f"bontrack imports {', '.join(supported)}"))
            continue
        if not isinstance(rid, str) or not rid:
            problems.append(Problem(label, "id", "every resource needs an id (references "
                                    "between resources use it)"))
            continue
        if it.key in seen:
            problems.append(Problem(label, "id", "appears twice in the input"))
        seen.add(it.key)
        module = importlib.import_module(f"fhir.resources.R4B.{str(rt).lower()}")
        try:
            getattr(module, str(rt)).model_validate(it.resource)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
                problems.append(Problem(label, loc, err.get("msg", "invalid")))
        except Exception as exc:  # a model that cannot even be built is a problem too
            problems.append(Problem(label, "", f"not a valid R4 {rt}: {exc}"))
    return problems
