"""Reading FHIR input for import: a Bundle, an NDJSON file or a Bulk Data directory, each
resource checked against the R4 model (fhir.resources R4B) before any mapping.

Problems are collected, never raised one by one, so a person sees every reason a file was
refused in one go: one line per problem, naming the resource and the element path.
"""

from __future__ import annotations

import importlib
import json
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bontrack.config import (
    ENV_IMPORT_BUNDLE_MAX_MB,
    ENV_IMPORT_MAX_MB,
    ImportLimits,
    import_limits,
)
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


@dataclass(frozen=True)
class Skipped(Problem):
    """A resource set aside, with the reason: listed in the import's result, never written,
    and no reason to refuse the rest (an unsupported type, an order, a dose of a product
    that cannot be identified)."""


#: read and used (who gave, who recorded, which service), never stored as records
DIRECTORY_TYPES = ("Practitioner", "Organization")
#: why a type is set aside, where there is more to say than "not imported"
SKIP_REASONS = {
    "MedicationRequest": "an order, not a dose given: bontrack counts only doses given "
                         "(planned is not given), so orders are not imported",
    "MedicationStatement": "a statement of medicines taken, not a record of a dose given; "
                           "send the dose as a MedicationAdministration",
}


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
    """Resources from a Bundle (JSON), NDJSON, or a directory of ``*.ndjson`` files, all in
    memory (small inputs and tests; the command line streams with ``scan_input``)."""
    inp, problems = scan_input(path, (), ImportLimits(2**62, 2**62), check=False)
    return inp.load(inp.entries), problems


@dataclass
class Entry:
    """Where one resource is in the input, and whose it is: all an import keeps of a
    resource between its two passes (the resource itself is read again when written)."""

    key: str
    where: str
    file: int  # index into Input.files; -1: held in memory (a Bundle's entry)
    offset: int
    length: int
    patient: str | None = None  # key of the Patient it is about
    uses: tuple[str, ...] = ()  # a Procedure's Medications
    full_url: str | None = None


@dataclass
class Input:
    """An input read once to check and index it: NDJSON stays on disk (each resource is
    re-read by its offset); a Bundle, parsed whole, is held in memory."""

    files: list[Path] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    held: dict[int, dict[str, Any]] = field(default_factory=dict)  # entry index -> resource

    def load(self, entries: Sequence[Entry]) -> list[Item]:
        items = []
        handles: dict[int, Any] = {}
        try:
            for e in entries:
                if e.file < 0:
                    res = self.held[e.offset]
                else:
                    if e.file not in handles:
                        handles[e.file] = self.files[e.file].open("rb")
                    f = handles[e.file]
                    f.seek(e.offset)
                    res = load_json(f.read(e.length))
                items.append(Item(res, e.where, e.full_url))
        finally:
            for f in handles.values():
                f.close()
        return items


def _reference_key(raw: Any, urls: dict[str, str]) -> str | None:
    value = raw.get("reference") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None
    return urls.get(value) or "/".join(value.rstrip("/").split("/")[-2:])


def index_entry(res: dict[str, Any], entry: Entry, urls: dict[str, str]) -> Entry:
    """Whose the resource is: the patient itself, else its subject (or patient); a
    Procedure also names the Medications (vials) it used."""
    if res.get("resourceType") == "Patient":
        entry.patient = entry.key
    else:
        entry.patient = _reference_key(res.get("subject") or res.get("patient"), urls)
    if res.get("resourceType") == "Procedure":
        entry.uses = tuple(k for k in (_reference_key(u, urls)
                                       for u in res.get("usedReference") or []) if k)
    elif res.get("resourceType") == "MedicationAdministration":
        # a dose given elsewhere may name its product by a Medication of the input
        med = _reference_key(res.get("medicationReference"), urls)
        entry.uses = (med,) if med and med.startswith("Medication/") else ()
    return entry


def _too_big(size: int, limit: int, what: str) -> BontrackError:
    mb = 1024 * 1024
    env = ENV_IMPORT_BUNDLE_MAX_MB if "Bundle" in what else ENV_IMPORT_MAX_MB
    return BontrackError(f"{what} is {size / mb:.1f} MB, more than the import limit of "
                         f"{limit / mb:.0f} MB ({env}); split it (NDJSON is streamed), or "
                         "raise the limit")


def scan_input(path: Path, supported: Sequence[str], limits: ImportLimits | None = None,
               check: bool = True) -> tuple[Input, list[Problem]]:
    """The first pass: every resource read one at a time (NDJSON line by line), checked
    against its R4 model and for control characters when ``check``, and indexed by key and
    patient; only the index stays in memory. A Bundle (one JSON document) is parsed whole,
    up to ``limits.bundle_max_bytes``; the whole input is refused past ``limits.max_bytes``."""
    limits = limits or import_limits()
    if not path.exists():
        raise BontrackError(f"{path}: no such file or directory")
    files = sorted(path.glob("*.ndjson")) if path.is_dir() else [path]
    if not files:
        raise BontrackError(f"{path}: no .ndjson files in this directory")
    size = sum(f.stat().st_size for f in files)
    if size > limits.max_bytes:
        raise _too_big(size, limits.max_bytes, str(path))
    inp = Input(files=files)
    problems: list[Problem] = []
    seen: set[str] = set()

    def add(res: Any, entry: Entry, where: str, urls: dict[str, str]) -> None:
        if not isinstance(res, dict):
            problems.append(Problem(where, "", "not a JSON object"))
            return
        entry.key = f"{res.get('resourceType')}/{res.get('id')}"
        if check:
            problems.extend(check_model(Item(res, where), supported, seen))
        inp.entries.append(index_entry(res, entry, urls))

    for n, f in enumerate(files):
        try:
            with f.open("rb") as fh:
                head = fh.read(4096).lstrip()
                fh.seek(0)
                if head.startswith(b"{") and _whole_document(fh, f, limits):
                    fh.seek(0)
                    try:
                        whole = load_json(fh.read())
                    except ValueError:
                        whole = None  # not one document: NDJSON, each line reported
                    if whole is not None:
                        _bundle(whole, f, inp, problems, add)
                        continue
                fh.seek(0)
                offset = 0
                for line_no, line in enumerate(fh, 1):
                    start, offset = offset, offset + len(line)
                    if not line.strip():
                        continue
                    where = f"{f.name} line {line_no}"
                    try:
                        res = load_json(line)
                    except ValueError as exc:
                        problems.append(Problem(where, "", f"not JSON ({exc})"))
                        continue
                    add(res, Entry("", where, n, start, len(line)), where, {})
        except (OSError, UnicodeDecodeError) as exc:
            raise BontrackError(f"{f}: cannot be read ({exc})") from None
    return inp, problems


#: The deepest nesting a FHIR document may have (R4 resources nest about ten levels): deeper
#: JSON is refused naming where, before Python's recursion limit turns it into a 500
#: (issue 17, F10: a 10 kB Bundle of nested arrays).
JSON_DEPTH_MAX = 64


def load_json(text: str | bytes) -> Any:
    """``json.loads``, with a document nested deeper than ``JSON_DEPTH_MAX`` refused as a
    ``ValueError`` naming the element where it goes too deep."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested more than {JSON_DEPTH_MAX} levels deep") from None
    where = _too_deep(value)
    if where is not None:
        raise ValueError(f"{where}: nested more than {JSON_DEPTH_MAX} levels deep")
    return value


def _too_deep(value: Any) -> str | None:
    """The path (``entry[0][0]…``) of the first element nested past ``JSON_DEPTH_MAX``, or
    None (walked without recursion)."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > JSON_DEPTH_MAX:
            return "".join(path[:8]).lstrip(".") + "…"
        if isinstance(item, dict):
            stack.extend((v, (*path, f".{k}")) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, (*path, f"[{i}]")) for i, v in enumerate(item))
    return None


def _whole_document(fh: Any, f: Path, limits: ImportLimits) -> bool:
    """Whether a file is one JSON document (a Bundle, or a resource written over several
    lines), parsed whole and so held to the Bundle limit; otherwise it is NDJSON."""
    first = fh.readline()
    try:
        res = load_json(first)
    except ValueError:
        res = None  # several lines make one document (or a broken NDJSON line)
    if isinstance(res, dict) and res.get("resourceType") != "Bundle":
        return False
    size = f.stat().st_size
    if size > limits.bundle_max_bytes:
        raise _too_big(size, limits.bundle_max_bytes, f"{f} (a JSON Bundle)")
    return True


def _bundle(whole: Any, f: Path, inp: Input, problems: list[Problem], add: Any) -> None:
    if not (isinstance(whole, dict) and whole.get("resourceType") == "Bundle"):
        inp.held[len(inp.held)] = whole
        add(whole, Entry("", f.name, -1, len(inp.held) - 1, 0), f.name, {})
        return
    entries = [e for e in whole.get("entry") or []]
    urls = {str(e["fullUrl"]): f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}"
            for e in entries if isinstance(e, dict) and e.get("fullUrl")
            and isinstance(e.get("resource"), dict)}
    for i, e in enumerate(entries):
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict):
            problems.append(Problem(f"{f.name}", f"entry[{i}]", "has no resource"))
            continue
        inp.held[len(inp.held)] = res
        add(res, Entry("", f"{f.name} entry[{i}]", -1, len(inp.held) - 1, 0,
                       full_url=e.get("fullUrl")), f"{f.name} entry[{i}]", urls)


def check_models(items: list[Item], supported: Sequence[str]) -> list[Problem]:
    """Each resource of a ``supported`` type (the registry's) against its R4 model."""
    seen: set[str] = set()
    return [p for it in items for p in check_model(it, supported, seen)]


def check_model(it: Item, supported: Sequence[str], seen: set[str]) -> list[Problem]:
    """One resource against its R4 model (``fhir.resources.R4B.<type>``: types, required
    elements, primitive formats), its id unique in the input (``seen``), and its text free
    of control characters."""
    problems: list[Problem] = []
    rt = it.resource.get("resourceType")
    rid = it.resource.get("id")
    label = it.key if rid else f"{rt} ({it.where})"
    if not isinstance(rt, str) or not rt:
        return [Problem(label, "resourceType", "not a FHIR resource (no resourceType): "
                        "bontrack imports a Bundle, NDJSON or a resource")]
    if rt not in supported and rt not in DIRECTORY_TYPES:
        return [Skipped(label, "resourceType", SKIP_REASONS.get(
            rt, f"{rt} is not imported (bontrack imports "
                f"{', '.join((*supported, *DIRECTORY_TYPES))})"))]
    if not isinstance(rid, str) or not rid:
        return [Problem(label, "id", "every resource needs an id (references "
                        "between resources use it)")]
    if it.key in seen:
        problems.append(Problem(label, "id", "appears twice in the input"))
    seen.add(it.key)
    problems += [Problem(label, path, why) for path, why in control_characters(it.resource)]
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


#: control characters a long text may hold
LINE_BREAKS = "\n\r\t"


def control_characters(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(element path, reason) for every string in a resource holding a control character
    other than a line break or tab, or a lone surrogate (the API's rule for text: NUL
    breaks PostgreSQL text and hides text on SQLite)."""
    if isinstance(value, str):
        for ch in value:
            kind = unicodedata.category(ch)
            if (kind == "Cc" and ch not in LINE_BREAKS) or kind == "Cs":
                yield path, f"contains a control character (U+{ord(ch):04X})"
                return
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from control_characters(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from control_characters(v, f"{path}[{i}]")
