"""The installed `bontrack` program as a person meets it: usage errors print the usage
message and exit 2, `--version` and `-h` work, and nothing but a real bug says "internal
error". Every case runs the console script in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from bontrack import __version__
from bontrack.cli.main import app

BONTRACK = Path(sys.executable).with_name("bontrack")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "child-upper-limb.yaml"


def bontrack(*args: str, cwd: Path | None = None, stdin: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert BONTRACK.exists(), f"the console script is not installed next to {sys.executable}"
    return subprocess.run([str(BONTRACK), *args], capture_output=True, text=True, timeout=120,
                          check=False, cwd=cwd, input=stdin,
                          env={**os.environ, "COLUMNS": "100", **(env or {})})


def no_internal_error(r: subprocess.CompletedProcess[str]) -> None:
    assert "internal error" not in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def usage_error(r: subprocess.CompletedProcess[str], says: str) -> None:
    no_internal_error(r)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Usage: bontrack" in r.stderr, r.stderr
    assert says in r.stderr, r.stderr


def commands() -> list[tuple[str, ...]]:
    """Every command and group path, e.g. ("users", "add")."""
    out: list[tuple[str, ...]] = []
    group = typer.main.get_group(app)
    for name, cmd in group.commands.items():
        out.append((name,))
        for sub in getattr(cmd, "commands", {}) or {}:
            out.append((name, sub))
    return out


def groups() -> list[str]:
    group = typer.main.get_group(app)
    return [name for name, cmd in group.commands.items() if getattr(cmd, "commands", None)]


def test_version_option_prints_the_program_and_reference_versions():
    r = bontrack("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"bontrack {__version__}; reference data ")


def test_short_help_option_shows_the_commands():
    r = bontrack("-h")
    assert r.returncode == 0, r.stderr
    assert "Usage: bontrack" in r.stdout and "check" in r.stdout and "demo" in r.stdout


def test_an_unknown_command_is_a_usage_error():
    usage_error(bontrack("nosuchcommand"), "No such command 'nosuchcommand'")


def test_check_without_a_plan_file_is_a_usage_error():
    usage_error(bontrack("check"), "Missing argument")


def test_a_misspelt_check_option_is_a_usage_error_that_names_the_right_one():
    r = bontrack("check", "--jsn", str(EXAMPLE))
    usage_error(r, "--jsn")
    assert "--json" in r.stderr


def test_backup_without_a_path_is_a_usage_error():
    usage_error(bontrack("backup"), "Missing argument")


def test_a_bad_value_for_a_typed_option_is_a_usage_error():
    usage_error(bontrack("demo", "--patients", "many", "--no-serve"), "--patients")


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_every_command_answers_short_help(path):
    r = bontrack(*path, "-h")
    no_internal_error(r)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert f"Usage: bontrack {' '.join(path)}" in r.stdout


@pytest.mark.parametrize("group", ["", *groups()])
def test_an_unknown_option_on_each_command_group_is_a_usage_error(group):
    usage_error(bontrack(*([group] if group else []), "--no-such-option"),
                "No such option: --no-such-option")


@pytest.mark.parametrize("group", ["", *groups()])
def test_a_command_group_without_a_command_shows_its_usage(group):
    r = bontrack(*([group] if group else []))
    no_internal_error(r)
    assert r.returncode == 2 and "Usage: bontrack" in r.stdout + r.stderr


def test_the_plan_check_keeps_its_contract_exit_codes_through_the_console_script(tmp_path):
    assert bontrack("check", str(EXAMPLE)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("date: 2026-11-24\nproduct: Botax\n")
    r = bontrack("check", str(bad))
    assert r.returncode == 2 and r.stderr.startswith("bontrack: error: ")
    assert len(r.stderr.strip().splitlines()) == 1
    no_internal_error(r)
