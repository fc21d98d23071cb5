"""The FHIR resource registry (issue 14, item 5) is the one list of resource types: the
CapabilityStatement, export, read, search and import all follow it, no other module lists
the types, and a kind added to a registry copy is picked up everywhere without touching
any other module."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bontrack.fhir import export, search
from bontrack.fhir.capability import capability_statement
from bontrack.fhir.definitions import TYPES as DEFINITION_TYPES
from bontrack.fhir.importer import import_items
from bontrack.fhir.kind import Kind
from bontrack.fhir.kinds import condition, patient
from bontrack.fhir.mapping import Context, Json, ref
from bontrack.fhir.query import SUBJECT, Source
from bontrack.fhir.reading import Item
from bontrack.fhir.registry import REGISTRY, Registry
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import Batch, P, find
from bontrack.reference import default_reference
from bontrack.services import accounts
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.models import User
from tests.fhir.test_import import empty_clinic, foreign_record
from tests.fhir.validator import model_errors

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "bontrack"
#: Where the type names may be written: each kind names itself, the registry lists kinds,
#: and each extension's declaration names the elements it stands on (its published
#: ``context``; tests/fhir/test_definitions.py checks it against where the export puts it).
MAY_NAME_TYPES = ("fhir/kinds/", "fhir/registry.py", "fhir/extensions.py")


def test_the_capability_statement_announces_exactly_the_registry():
    cs = capability_statement("http://x/fhir")
    announced = cs["rest"][0]["resource"]
    # the registry's kinds, then Group (a clinic's patients: read and $export, no search),
    # then the published definitions (conformance resources: not records, not in the registry)
    assert [r["type"] for r in announced] == [*REGISTRY.types, "Group", *DEFINITION_TYPES]
    del announced[-len(DEFINITION_TYPES):]
    group = announced.pop()
    assert group["interaction"] == [{"code": "read"}] and "searchParam" not in group
    assert [o["name"] for o in group["operation"]] == ["export"]
    for r, kind in zip(announced, REGISTRY, strict=True):
        searched = {"code": "search-type"} in r["interaction"]
        assert searched == kind.searchable
        if searched:
            names = [p["name"] for p in r["searchParam"]]
            common = ["_id", "_count", "_offset", "_sort", "_summary", "_elements"]
            if any(src.updated is not None for src in kind.sources):
                common.append("_lastUpdated")
            assert names == [*common, *kind.params]
            assert {p["type"] for p in r["searchParam"][len(common):]} <= {
                "reference", "date", "token", "string"}
    assert model_errors(cs) == []


def test_every_kind_exports_reads_imports_and_is_an_r4_resource():
    assert len(REGISTRY.types) == 10
    for kind in REGISTRY:
        assert callable(kind.export) and callable(kind.fetch) and callable(kind.read), kind
        assert set(kind.audit) <= set(kind.store), kind.name
        module = importlib.import_module(f"fhir.resources.R4B.{kind.name.lower()}")
        assert hasattr(module, kind.name), f"{kind.name} is not an R4 resource type"
    assert set(export.TYPES) == set(REGISTRY.types) == set(search.READABLE)
    assert set(search.TYPES) == set(REGISTRY.types) - {"Medication"}


def test_every_search_parameter_the_docs_promise_is_declared():
    """docs/fhir.md: patient, subject and date on every search about a patient's records;
    code on Condition, Observation, MedicationAdministration and Procedure; effective-time
    on MedicationAdministration; the read types listed are the registry's."""
    for name in search.TYPES:
        params = REGISTRY.get(name).params
        if name != "Patient":
            assert {"patient", "subject", "date"} <= set(params), name
    for name in ("Condition", "Observation", "MedicationAdministration", "Procedure"):
        assert REGISTRY.get(name).params["code"] == "token"
    assert "effective-time" in REGISTRY.get("MedicationAdministration").params
    docs = (ROOT / "docs" / "fhir.md").read_text(encoding="utf-8")
    listed = re.search(r"`GET /fhir/\{Type\}/\{id\}` \| the resource; Types: ([^|]+)\|", docs)
    assert listed is not None
    assert {t.strip() for t in listed.group(1).split(",")} == set(REGISTRY.types)


def _type_names_in_literals(tree: ast.AST) -> Iterator[tuple[int, list[str]]]:
    """Collections written in the code (tuple, list, set, dict keys) holding at least three
    registry type names."""
    names = set(REGISTRY.types)
    for node in ast.walk(tree):
        items: list[ast.expr | None] = []
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = list(node.keys)
        found = [i.value for i in items if isinstance(i, ast.Constant) and i.value in names]
        if len(found) >= 3:
            yield node.lineno, found


def test_no_module_but_the_registry_lists_the_resource_types():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(MAY_NAME_TYPES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{rel}:{line} {found}" for line, found in _type_names_in_literals(tree)]
        for node in ast.walk(tree):  # the old dispatch: getattr(self, f"_{kind.lower()}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "getattr" and len(node.args) >= 2
                    and isinstance(node.args[1], ast.JoinedStr)):
                offenders.append(f"{rel}:{node.lineno} getattr dispatch by name")
    assert offenders == []


def test_the_list_check_finds_a_list_of_types():
    """The check above can fail: the list the export used to carry is found."""
    old = 'TYPES = ("Patient", "Condition", "Encounter", "Procedure")'
    assert list(_type_names_in_literals(ast.parse(old)))


def test_a_kind_is_read_after_the_kinds_it_depends_on():
    with pytest.raises(ValueError, match="Condition is read after Patient"):
        Registry((condition.KIND, patient.KIND))
    with pytest.raises(ValueError, match="registered twice"):
        Registry((patient.KIND, patient.KIND))


# -- a throwaway kind, in a copy of the registry -----------------------------------------

READ: list[str] = []


def _flag(p: Any) -> Json:
    return {"resourceType": "Flag", "id": str(p.id), "status": "active",
            "code": {"text": "test flag"}, "subject": ref("Patient", p.id)}


def _export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    yield _flag(p)


def _fetch(session: Any, ctx: Context, rid: str) -> tuple[Json, int] | None:
    p = find(session, P, rid)
    return None if p is None else (_flag(p), p.id)


def _read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    reader.subject(res)
    READ.append(key)


FLAG = Kind(name="Flag", store=(), rows=(), export=_export, fetch=_fetch, read=_read,
            after=("Patient",), sources=(Source(P, P.c.id),), params=dict(SUBJECT))
WITH_FLAG = REGISTRY.with_kind(FLAG)


def test_a_new_kind_is_announced_exported_read_and_searched(sqlite_demo):
    assert "Flag" not in REGISTRY and "Flag" in WITH_FLAG  # the global table is unchanged
    flag = next(r for r in capability_statement("http://x/fhir", WITH_FLAG)["rest"][0]
                ["resource"] if r["type"] == "Flag")
    assert [p["name"] for p in flag["searchParam"]][-2:] == ["patient", "subject"]
    engine = make_engine(sqlite_demo)
    with session_factory(engine)() as s:  # never committed: searches' audit rows go away
        ctx = export.context(s, default_reference())
        plain = list(export.resources(s, ctx))
        flagged = list(export.resources(s, ctx, registry=WITH_FLAG))
        flags = [r for r in flagged if r["resourceType"] == "Flag"]
        assert [r for r in flagged if r["resourceType"] != "Flag"] == plain
        assert len(flags) == len({r["id"] for r in plain if r["resourceType"] == "Patient"})
        assert [e for r in flags for e in model_errors(r)] == []
        doc = s.scalar(sa.select(User).where(User.username == "dr.lee"))
        actor = accounts.actor_of(doc)
        pid = flags[0]["subject"]["reference"].split("/")[1]
        page = search.search(s, actor, ctx, "Flag", [("patient", pid)], registry=WITH_FLAG)
        assert [r["id"] for r in page.resources] == [pid] and page.total == 1
        assert search.build(s, ctx, "Flag", pid, WITH_FLAG)[0] == flags[0]
        with pytest.raises(Exception, match="not searched here"):
            search.search(s, actor, ctx, "Flag", [])
    engine.dispose()


def test_a_new_kind_is_imported_through_its_reader(tmp_path):
    target = f"sqlite:///{tmp_path / 'target.db'}"
    empty_clinic(target, users=(("doc", "clinician"),), clinic="Clinic A")
    resources = [*foreign_record(), {"resourceType": "Flag", "id": "f-1", "status": "active",
                                     "code": {"text": "x"},
                                     "subject": {"reference": "Patient/pt-7"}}]
    items = [Item(r, f"entry[{i}]") for i, r in enumerate(resources)]
    engine = make_engine(target)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        doc = s.scalar(sa.select(User).where(User.username == "doc"))
        first = import_items(s, accounts.actor_of(doc), default_reference(), items,
                             "in.json")
    # a type without a kind is skipped and listed (issue 18), the rest imported
    shown = "\n".join(str(p) for p in first.skipped)
    assert "Flag/f-1 resourceType: Flag is not imported" in shown
    engine.dispose()
    target = f"sqlite:///{tmp_path / 'second.db'}"
    empty_clinic(target, users=(("doc", "clinician"),), clinic="Clinic A")
    engine = make_engine(target)
    sessions = session_factory(engine)
    READ.clear()
    with transaction(sessions) as s:
        doc = s.scalar(sa.select(User).where(User.username == "doc"))
        done = import_items(s, accounts.actor_of(doc), default_reference(),
                            items, "in.json", registry=WITH_FLAG)
    engine.dispose()
    assert READ == ["Flag/f-1"] and done.counts["patient"] == 1
