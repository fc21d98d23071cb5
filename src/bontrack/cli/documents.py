"""Reading plan documents from a file or standard input: YAML (1.2) or JSON, with clear errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bontrack.documents import DocumentError, loads_json, loads_yaml
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
    try:
        if text.lstrip().startswith(("{", "[")) or where.lower().endswith(".json"):
            return loads_json(text), where
        return loads_yaml(text), where
    except DocumentError as exc:
        raise PlanError(where, exc.key or "", str(exc)) from None
