"""The clinical core stays pure: clinical/ and reference/ import no framework, database,
environment or clock; dependencies point inwards."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "bontrack"
FORBIDDEN_MODULES = {
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "sqlite3",
    "typer",
    "click",
    "rich",
    "jinja2",
    "httpx",
    "requests",
    "os",
    "subprocess",
    "socket",
    "time",
    "bontrack.cli",
    "bontrack.services",
    "bontrack.api",
    "bontrack.web",
    "bontrack.store",
}
FORBIDDEN_CALLS = {"today", "now", "utcnow", "getenv", "environ"}


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize(
    "path", modules("clinical") + modules("reference"), ids=lambda p: str(p.relative_to(SRC))
)
def test_core_module_imports_no_framework_io_or_clock(path):
    tree = ast.parse(path.read_text())
    bad = {
        m for m in imported(tree) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_MODULES)
    }
    if path.parent.name == "reference" and path.name == "loader.py":
        bad -= {"os"}  # the loader is the edge that reads files (via pathlib)
    assert not bad, f"{path.name} imports {bad}"
    calls = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} & FORBIDDEN_CALLS
    assert not calls, f"{path.name} uses {calls}"


@pytest.mark.parametrize("path", modules("reference"), ids=lambda p: p.name)
def test_reference_does_not_import_clinical(path):
    assert not any(m.startswith("bontrack.clinical") for m in imported(ast.parse(path.read_text())))


def test_only_the_loader_touches_files_in_the_core():
    for path in modules("clinical") + modules("reference"):
        text = path.read_text()
        if path.name == "loader.py":
            continue
        assert not re.search(r"\bopen\(|read_text|read_bytes", text), path.name


@pytest.mark.parametrize(
    "path", modules("api") + modules("web") + modules("cli") + modules("server"),
    ids=lambda p: str(p.relative_to(SRC)))
def test_no_route_page_or_command_function_is_over_80_lines(path):
    """Issue 14 item 7: small route modules. Routes are module-level functions on a router
    (server/routing.add_routes), never one long install_* closure."""
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and (n.end_lineno or n.lineno) - n.lineno + 1 > 80]
    assert not long, f"{path.name}: {long}"


def test_every_route_is_on_the_flat_route_list():
    """FastAPI 0.165 nests an included router as one lazy entry; bontrack adds routes flat,
    so every reader of app.routes (OpenAPI, the security tests) sees all of them."""
    from fastapi.routing import APIRoute

    from bontrack.app import create_app

    app = create_app("sqlite://")
    assert all(type(r).__name__ != "_IncludedRouter" for r in app.routes)
    paths = {r.path for r in app.routes if isinstance(r, APIRoute)}
    assert {"/api/v1/patients", "/api/v1/cycles/{cycle_id}/sign", "/fhir/{kind}",
            "/patients/{patient_id}/goals", "/login"} <= paths
