"""Issue 14, item 3: every exception bontrack raises on purpose belongs to the tree in
errors.py, and the tree drawn in its docstring lists every class defined there."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from bontrack import errors

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bontrack"

#: Exception classes defined outside errors.py, each with its reason.
OUTSIDE_ALLOWED = {
    # Starlette's body and JSON handling must raise its own HTTPException; the one error
    # renderer (bontrack.server.errors) turns both into the usual problem+json.
    ("api/limits.py", "BodyTooLarge"): "a Starlette HTTPException raised inside the ASGI stack",
    ("api/strict_json.py", "DuplicateKeyInBody"): "a Starlette HTTPException of the JSON body",
    # Control flow inside one module, never shown to a person.
    ("fhir/bulk.py", "Cancelled"): "stops a bulk export worker when its job was deleted",
    ("fhir/elements.py", "Refusal"): "one unmappable element; the reader makes it a Problem",
}


def exception_classes(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """Classes whose bases look like exceptions (…Error, …Exception, Exception itself, or a
    class of the bontrack tree)."""
    tree_names = {n for n, c in vars(errors).items() if inspect.isclass(c)
                  and issubclass(c, BaseException)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b).rpartition(".")[2] for b in node.bases]
            if any(b.endswith(("Error", "Exception")) or b in tree_names
                   or b in ("BaseException", "Warning") for b in bases):
                found.append((node.name, bases))
    return found


def test_no_exception_class_outside_errors_py():
    outside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        if rel == "errors.py":
            continue
        for name, bases in exception_classes(ast.parse(path.read_text())):
            if (rel, name) not in OUTSIDE_ALLOWED:
                outside.append(f"{rel}: class {name}({', '.join(bases)})")
    assert not outside, "exceptions outside bontrack.errors:\n" + "\n".join(outside)


def test_every_allowed_exception_still_exists():
    for (rel, name), reason in OUTSIDE_ALLOWED.items():
        assert reason
        names = [n for n, _ in exception_classes(ast.parse((PACKAGE / rel).read_text()))]
        assert name in names, (rel, name)


def test_the_checker_sees_a_stray_exception():
    tree = ast.parse("class Oops(ValueError):\n    pass\nclass Fine:\n    pass\n"
                     "class Tree(errors.RecordError):\n    pass\n")
    assert [n for n, _ in exception_classes(tree)] == ["Oops", "Tree"]


ERROR_CLASSES = sorted(n for n, c in vars(errors).items()
                       if inspect.isclass(c) and issubclass(c, BaseException)
                       and c.__module__ == errors.__name__)


@pytest.mark.parametrize("name", ERROR_CLASSES)
def test_the_docstring_tree_lists_every_class(name):
    doc = errors.__doc__ or ""
    drawn = [line for line in doc.splitlines() if line.strip().lstrip("│├└─ ").startswith(name)]
    assert any(line.strip().lstrip("│├└─ ").split()[0] == name for line in drawn), (
        f"{name} is not drawn in the tree of bontrack/errors.py")


def test_the_drawn_tree_matches_the_classes():
    """Each class is drawn under its parent: its indentation is one level deeper."""
    depth = {}
    for line in (errors.__doc__ or "").splitlines():
        stripped = line.lstrip(" │├└─")
        word = stripped.split()[0] if stripped.split() else ""
        if word in ERROR_CLASSES:
            depth[word] = len(line) - len(stripped)
    for name in ERROR_CLASSES:
        cls = getattr(errors, name)
        parents = [b.__name__ for b in cls.__bases__ if b.__module__ == errors.__name__]
        if name == "BontrackError":
            assert not parents
            continue
        assert parents, name
        assert depth[name] == depth[parents[0]] + 4, (name, parents[0])
