"""Reading plan documents from a file or standard input: YAML or JSON, with clear errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from bontrack.errors import PlanError

MAX_BYTES = 1_000_000


def read_document(name: str) -> tuple[Any, str]:
    """Decode the plan at ``name`` ('-' for standard input); returns (data, display name)."""
    where = "<stdin>" if name == "-" else name
    try:
        if name == "-":
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            path = Path(name)
            if path.is_dir():
                raise PlanError(where, "", "is a folder, not a plan file")
            with path.open("rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise PlanError(where, "", "file not found") from None
    except PermissionError:
        raise PlanError(where, "", "permission denied") from None
    except OSError as exc:
        raise PlanError(where, "", f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise PlanError(where, "", f"is larger than {MAX_BYTES // 1_000_000} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanError(where, "", f"is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise PlanError(where, "", "is empty")
    if text.lstrip().startswith(("{", "[")) or where.lower().endswith(".json"):
        try:
            return json.loads(text, parse_constant=_reject_constant), where
        except json.JSONDecodeError as exc:
            raise PlanError(
                where, "", f"line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})"
            ) from None
        except ValueError as exc:
            raise PlanError(where, "", f"not valid JSON ({exc})") from None
    try:
        return yaml.safe_load(text), where
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise PlanError(where, "", f"{at}not valid YAML ({problem})") from None
    except (ValueError, RecursionError) as exc:
        raise PlanError(where, "", f"not valid YAML ({exc})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")
