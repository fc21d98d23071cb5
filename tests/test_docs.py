"""Documentation stays true: quick start, commands, finding codes."""

from __future__ import annotations

import re
from pathlib import Path

from bontrack.cli.main import app
from bontrack.clinical.findings import CODES

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s+```\w*\n(.*?)```", text, re.S)
    assert block, "README has no Quick start code block"
    return [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    commands = quick_start()
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
    lock_install = ("pip install --require-hashes -r requirements/{}.txt"
                    " && pip install --no-deps -e .")
    assert commands[0].startswith(lock_install.format("app") + " && bontrack demo")
    assert commands[1].startswith(lock_install.format("test") + " && python -m pytest")


def test_every_finding_code_is_documented():
    cli = (ROOT / "docs" / "cli.md").read_text()
    rules = (ROOT / "docs" / "rules.md").read_text()
    for code in CODES:
        assert f"| {code} |" in cli, code
        assert code in rules, code


def test_every_cli_command_is_documented():
    cli = (ROOT / "docs" / "cli.md").read_text()
    import typer.main

    group = typer.main.get_group(app)
    for name, cmd in group.commands.items():
        subs = getattr(cmd, "commands", None)
        if subs:
            for sub in subs:
                assert f"`bontrack {name} {sub}" in cli, f"{name} {sub}"
        else:
            assert f"`bontrack {name}" in cli, name


def _leaf_commands(cmd, path):  # type: ignore[no-untyped-def]
    subs = getattr(cmd, "commands", None)
    if not subs:
        yield path, cmd
        return
    for name, sub in subs.items():
        yield from _leaf_commands(sub, [*path, name])


def test_every_cli_option_is_documented():
    import typer.main

    cli = (ROOT / "docs" / "cli.md").read_text()
    missing = [
        f"bontrack {' '.join(path)} {opt}"
        for path, cmd in _leaf_commands(typer.main.get_group(app), [])
        for param in cmd.params
        for opt in (*param.opts, *getattr(param, "secondary_opts", []))
        if opt.startswith("--") and opt != "--help" and opt not in cli
    ]
    assert not missing, missing


def test_the_global_options_are_documented():
    cli = (ROOT / "docs" / "cli.md").read_text()
    for text in ("`bontrack --version`", "`bontrack -h`", "`bontrack COMMAND -h`",
                 "exits with status 2"):
        assert text in cli, text


def test_contract_codes_keep_their_severity():
    contract = {
        "SESSION_MAX_EXCEEDED": "stop", "WEIGHT_BASED_MAX_EXCEEDED": "stop",
        "CUMULATIVE_MAX_EXCEEDED": "stop", "RETREATMENT_TOO_SOON": "stop",
        "SITE_DOSE_ABOVE_MAX": "stop", "CONTRAINDICATED": "stop", "VIAL_EXPIRED": "stop",
        "RECONSTITUTED_TOO_LONG": "stop", "MUSCLE_DOSE_ABOVE_RANGE": "warning",
        "INDICATION_NOT_LABELLED": "warning", "AGE_OUTSIDE_LABEL": "warning",
        "UNITS_NOT_INTERCHANGEABLE": "warning", "NEUROMUSCULAR_DISORDER": "warning",
        "DRUG_INTERACTION": "warning", "DYSPHAGIA_RISK": "warning",
        "PLAN_EXCEEDS_VIALS": "warning", "MUSCLE_DOSE_BELOW_RANGE": "info",
    }
    assert {c: CODES[c].label for c in contract} == contract


def test_hazard_log_names_tests_that_exist():
    log = (ROOT / "docs" / "safety" / "hazard-log.md").read_text()
    names = set(re.findall(r"`(test_[a-z0-9_]+)`", log))
    sources = "".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = [n for n in names if f"def {n}(" not in sources]
    assert names and not missing, missing
