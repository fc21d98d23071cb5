"""axe-core from the npm registry, fetched once with `npm pack` and cached under .cache/."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

VERSION = "4.14.1"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"axe-core-{VERSION}.min.js"


def axe_source() -> str:
    if not CACHE.exists():
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", f"axe-core@{VERSION}", "--silent",
                            "--pack-destination", tmp], check=True, capture_output=True,
                           timeout=300)
            tgz = next(Path(tmp).glob("axe-core-*.tgz"))
            with tarfile.open(tgz) as tar:
                member = tar.extractfile("package/axe.min.js")
                assert member is not None
                CACHE.write_bytes(member.read())
    return CACHE.read_text()


def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Run axe on the page; the serious and critical violations, one line each."""
    page.add_script_tag(content=axe_source())
    result = page.evaluate("async () => await axe.run(document)")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} node(s): "
            + ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
