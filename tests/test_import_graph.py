"""Issue 14, item 2: no import cycles anywhere in src/bontrack, and no import placed inside a
function to hide one. The graph is read from the source (ast), with every import counted,
wherever it stands: an import moved into a function still closes its cycle here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "bontrack"

#: Imports allowed inside a function body, per module, each with its reason. Anything else
#: goes at the top of the module.
LAZY_ALLOWED: dict[str, tuple[set[str], str]] = {
    # The command line starts in a fraction of a second and `bontrack --help`, `check` or
    # `reference` must not load SQLAlchemy, the store, FHIR, rich.progress or uvicorn: each
    # command imports what only it needs.
    "bontrack.cli.fhir_commands": ({"*"}, "CLI: a command loads only what it uses"),
    "bontrack.cli.store_commands": ({"*"}, "CLI: a command loads only what it uses"),
    "bontrack.cli.report_commands": ({"*"}, "CLI: a command loads only what it uses"),
    "bontrack.cli.audit_commands": ({"*"}, "CLI: a command loads only what it uses"),
    "bontrack.cli.main": ({"bontrack.reference", "click"},
                          "CLI: `version` alone loads the reference data; click is optional"),
    # WeasyPrint loads Pango and fonts (seconds): only a PDF download pays for it.
    # Matplotlib (analytics.charts) is loaded for the clinic report's charts only.
    "bontrack.reports.documents": ({"weasyprint", "bontrack.analytics"},
                                   "heavy: loaded for a PDF or the clinic's charts only"),
    # A migration runs against the schema of its own revision: it imports the code it needs
    # when it runs, not when Alembic lists the revisions.
    "bontrack.store.migrations.versions.0007_triage": (
        {"bontrack.reference", "bontrack.services.triage"},
        "a migration loads application code only when it runs"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(module: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> list[str]:
    """The bontrack modules an import statement loads (``from x import y`` counts x.y when y
    is a module)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [target] + [f"{target}.{a.name}" for a in node.names]
    out = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            out.append(name)
    return out


def function_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found += [n for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                deps |= set(resolve(name, node, is_package))
        # a module imports its parent packages too; those edges are not cycles of its own
        edges[name] = {d for d in deps if d != name and not name.startswith(d + ".")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    edges = graph()
    assert "bontrack.server.deps" in edges["bontrack.api.app"]
    assert len(edges) > 80


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_inside_a_function(name):
    tree = ast.parse(MODULES[name].read_text())
    allowed, _reason = LAZY_ALLOWED.get(name, (set(), ""))
    bad = []
    for node in function_imports(tree):
        targets = ([a.name for a in node.names] if isinstance(node, ast.Import)
                   else [node.module or "."])
        for target in targets:
            if "*" in allowed or target in allowed:
                continue
            bad.append(f"line {node.lineno}: {target}")
    assert not bad, f"{name} imports inside a function: {bad}"


def test_every_allowed_lazy_import_still_exists():
    for name, (allowed, reason) in LAZY_ALLOWED.items():
        assert name in MODULES, name
        assert reason
        tree = ast.parse(MODULES[name].read_text())
        used = {a.name for n in function_imports(tree) if isinstance(n, ast.Import)
                for a in n.names}
        used |= {n.module or "." for n in function_imports(tree) if isinstance(n, ast.ImportFrom)}
        assert "*" in allowed or allowed <= used, (name, allowed - used)
