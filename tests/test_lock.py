"""The lock files agree with pyproject.toml, without the network.

``requirements/app.txt`` (the runtime) and ``requirements/test.txt`` (the runtime and the
``test`` extra) are what both README commands and CI install. They fail here when:
- a requirement of pyproject.toml (a dependency or an extra's) is missing from its lock, or
  locked at a version its specifier refuses, or without an extra it asks for;
- pyproject.toml's dependency lists changed since the lock was made: the header's
  fingerprint (requirements/fingerprint.py) no longer matches, so a dependency added without
  ``bash requirements/lock.sh`` fails even where an older pin would happen to satisfy it;
- a pin is not exact or carries no hash (pip's ``--require-hashes`` needs both);
- the two locks pin one package at different versions.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "requirements"
_spec = importlib.util.spec_from_file_location("fingerprint", LOCKS / "fingerprint.py")
assert _spec and _spec.loader
fingerprint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fingerprint)


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    extras: frozenset[str]
    marker: Marker | None
    hashes: int
    exact: bool


def read_lock(path: Path) -> dict[str, list[Pin]]:
    """Every pinned entry of a pip requirements file, by normalised name (a universal lock may
    pin one package twice, at different versions under exclusive markers)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    pins: dict[str, list[Pin]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-"), f"{path.name}: unexpected option line {line!r}"
        hashes = len(re.findall(r"--hash=sha256:[0-9a-f]{64}", line))
        req = Requirement(re.sub(r"--hash=\S+", "", line).strip())
        spec = list(req.specifier)
        exact = len(spec) == 1 and spec[0].operator == "=="
        version = Version(spec[0].version) if spec else Version("0")
        pin = Pin(canonicalize_name(req.name), version, frozenset(req.extras), req.marker,
                  hashes, exact)
        pins.setdefault(pin.name, []).append(pin)
    return pins


def requirements(pyproject: Path, extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def disagreements(pyproject: Path, lock: Path, extras: tuple[str, ...]) -> list[str]:
    """What in ``lock`` does not satisfy ``pyproject``'s requirements (with ``extras``)."""
    pins = read_lock(lock)
    problems = []
    for req in requirements(pyproject, extras):
        found = pins.get(canonicalize_name(req.name))
        if not found:
            problems.append(f"{req} is not in {lock.name}")
            continue
        for pin in found:
            if not req.specifier.contains(pin.version, prereleases=True):
                problems.append(f"{req} but {lock.name} pins {pin.name}=={pin.version}")
            if not req.extras <= pin.extras:
                problems.append(f"{req} but {lock.name} pins {pin.name} without "
                                f"[{','.join(sorted(req.extras - pin.extras))}]")
    recorded = fingerprint.recorded(lock)
    if recorded != fingerprint.fingerprint(pyproject):
        problems.append(f"{lock.name} was locked from other dependency lists than "
                        f"{pyproject.name} has now (fingerprint {recorded})")
    return problems


LOCK_FILES = {"app.txt": (), "test.txt": ("test",)}


@pytest.mark.parametrize(("lock", "extras"), LOCK_FILES.items())
def test_lock_satisfies_every_requirement_of_pyproject(lock: str, extras: tuple[str, ...]):
    assert disagreements(ROOT / "pyproject.toml", LOCKS / lock, extras) == [], (
        "relock: bash requirements/lock.sh (docs/development.md)")


@pytest.mark.parametrize("lock", LOCK_FILES)
def test_every_pin_is_exact_and_hashed(lock: str):
    for pins in read_lock(LOCKS / lock).values():
        for pin in pins:
            assert pin.exact and pin.hashes, f"{lock}: {pin.name} is not ==version with hashes"


def test_runtime_lock_pins_the_versions_the_test_lock_pins():
    app, test = read_lock(LOCKS / "app.txt"), read_lock(LOCKS / "test.txt")
    for name, pins in app.items():
        assert {(p.version, str(p.marker)) for p in pins} <= {
            (p.version, str(p.marker)) for p in test.get(name, [])}, name


def test_check_catches_a_dependency_added_without_relocking(tmp_path: Path):
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    added = tmp_path / "pyproject.toml"
    added.write_text(pyproject.replace('dependencies = [\n',
                                       'dependencies = [\n    "tomli-w>=1.0",\n', 1))
    problems = disagreements(added, LOCKS / "app.txt", ())
    assert "tomli-w>=1.0 is not in app.txt" in problems
    assert any("fingerprint" in p for p in problems)


def test_check_catches_a_lower_bound_above_the_pin_and_a_missing_extra(tmp_path: Path):
    pins = read_lock(LOCKS / "app.txt")
    fastapi = pins["fastapi"][0].version
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    changed = re.sub(r'"fastapi[^"]*"', f'"fastapi>{fastapi}"', pyproject)
    changed = re.sub(r'"orjson([^"]*)"', r'"orjson[nosuchextra]\1"', changed)
    (tmp_path / "pyproject.toml").write_text(changed)
    problems = disagreements(tmp_path / "pyproject.toml", LOCKS / "app.txt", ())
    assert f"fastapi>{fastapi} but app.txt pins fastapi=={fastapi}" in problems
    assert any(p.startswith("orjson[nosuchextra]") and "without [nosuchextra]" in p
               for p in problems)


def test_fingerprint_ignores_order_and_spacing_but_not_a_bound(tmp_path: Path):
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    base = fingerprint.fingerprint(ROOT / "pyproject.toml")
    copy = tmp_path / "pyproject.toml"
    copy.write_text(text.replace('"PyYAML>=6.0,<7",', '"PyYAML >= 6.0, < 7",'))
    assert fingerprint.fingerprint(copy) == base
    copy.write_text(text.replace('"PyYAML>=6.0,<7",', '"PyYAML>=6.0.1,<7",'))
    assert fingerprint.fingerprint(copy) != base
