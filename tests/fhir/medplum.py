"""@medplum/core's validator, an independent check of bontrack's published definitions and
of exported resources (``medplum_check.mjs`` says what it checks). The two npm packages are
fetched once with ``npm pack`` and the files the check reads are cached under .cache/, like
the R4 JSON Schema of ``validator.py``; one node process checks a whole batch."""

from __future__ import annotations

import json
import subprocess
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from bontrack.fhir.codes import CANONICAL

VERSION = "5.2.13"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"medplum-{VERSION}"
SCRIPT = Path(__file__).with_name("medplum_check.mjs")
#: package -> the files the check reads
FILES = {
    "core": ["package/dist/esm/index.mjs"],
    "definitions": ["package/dist/fhir/r4/profiles-types.json",
                    "package/dist/fhir/r4/profiles-resources.json"],
}


@cache
def packages() -> Path:
    """The cached packages' folder (``core/...``, ``definitions/...``)."""
    done = CACHE / "ok"
    if not done.exists():
        with tempfile.TemporaryDirectory() as tmp:
            for name, members in FILES.items():
                subprocess.run(["npm", "pack", f"@medplum/{name}@{VERSION}", "--silent",
                                "--pack-destination", tmp], check=True, capture_output=True,
                               timeout=300)
                tgz = next(Path(tmp).glob(f"medplum-{name}-*.tgz"))
                with tarfile.open(tgz) as tar:
                    for member in members:
                        got = tar.extractfile(member)
                        assert got is not None, member
                        target = CACHE / name / member.removeprefix("package/")
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(got.read())
        done.write_text(VERSION)
    return CACHE


def check(definitions: list[dict[str, Any]], resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the check on a batch: ``{"issues": [{where, text, expression}], counts}``."""
    root = packages()
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump({"canonical": CANONICAL, "definitions": definitions,
                   "resources": resources}, f)
        f.flush()
        run = subprocess.run(["node", str(SCRIPT), str(root / "core" / "dist/esm/index.mjs"),
                              str(root / "definitions" / "dist"), f.name],
                             capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    out: dict[str, Any] = json.loads(run.stdout)
    return out
