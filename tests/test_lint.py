"""Lint and types are part of the test suite: ruff everywhere, mypy strict on the core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_ruff_is_clean():
    r = run("ruff", "check", "src", "tests", "bench", "requirements")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_is_clean_and_strict_on_the_clinical_core():
    r = run("mypy", "src")
    assert r.returncode == 0, r.stdout + r.stderr
