"""Issue 6, item 6 (short form): ``bench/load.py`` for 20 s with 10 clients against a real
server on SQLite answers every request 2xx and the server's memory does not grow without
bound. The full run (300 s, 50 clients) is a benchmark: see docs/reliability.md.

    PYTHONPATH=src pytest -s tests/reliability/test_load_short.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def test_short_mixed_load_has_no_errors_and_flat_memory(tmp_path: Path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(BENCH), "--seconds", "20", "--clients", "10",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          check=False, env=dict(os.environ))
    print("\n" + done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["errors"] == 0
    assert all(k["requests"] > 0 for k in figures["kinds"].values()), figures["kinds"]
    memory = figures["memory"]
    # warm-up (caches, first plan checks) included: allow a little, not a leak's worth
    assert memory["last_to_first_ratio"] < 1.25, memory
    assert memory["end_mib"] - memory["start_mib"] < 60, memory
