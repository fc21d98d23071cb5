"""The fingerprint of pyproject.toml's dependency lists, stamped into the lock files' header.

``bash requirements/lock.sh`` writes it after relocking; ``tests/test_lock.py`` recomputes it
and fails when pyproject.toml's dependencies, extras or requires-python changed since the lock
was made. Standard library only, so the lock script runs before anything is installed.

    python requirements/fingerprint.py                 # print the fingerprint
    python requirements/fingerprint.py --stamp FILE..  # write it into the files' headers
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
PREFIX = "# pyproject-fingerprint: "


def fingerprint(pyproject: Path = PYPROJECT) -> str:
    """sha256 of requires-python, dependencies and optional-dependencies, each list sorted and
    with whitespace removed, so reordering or reformatting pyproject.toml does not change it."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]

    def canonical(reqs: list[str]) -> list[str]:
        return sorted("".join(req.split()) for req in reqs)

    data = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": canonical(project.get("dependencies", [])),
        "optional-dependencies": {name: canonical(reqs) for name, reqs
                                  in project.get("optional-dependencies", {}).items()},
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def recorded(lock: Path) -> str | None:
    """The fingerprint a lock file's header records, or None."""
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(PREFIX):
            return line[len(PREFIX):].split()[0]
        if line and not line.startswith("#"):
            return None
    return None


def stamp(lock: Path, value: str) -> None:
    """Put ``PREFIX value`` at the end of the leading comment block (replacing an old one)."""
    lines = [line for line in lock.read_text(encoding="utf-8").splitlines()
             if not line.startswith(PREFIX)]
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        header += 1
    lines.insert(header, f"{PREFIX}{value}  (pyproject.toml's dependency lists;"
                         " tests/test_lock.py compares)")
    lock.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    value = fingerprint()
    if sys.argv[1:2] == ["--stamp"]:
        for name in sys.argv[2:]:
            stamp(Path(name), value)
    else:
        print(value)
