"""Decoding JSON and YAML documents exactly as they were typed.

Plans and API bodies are read here so that every door reads them the same way:

- YAML follows the 1.2 core schema (``ruamel.yaml``, pure-Python loader). YAML 1.1, which
  PyYAML implements, reads ``units: 060`` as octal 48, ``1:30`` as the sexagesimal 90 and
  ``yes`` as true; in 1.2 they are 60, the text "1:30" and the text "yes".
- A key given twice in one mapping is an error naming the key, in YAML and in JSON alike.
  Silently keeping the last value turned ``units: 400`` then ``units: 40`` into a plan of 40 U.
- ``NaN`` and ``Infinity`` are not numbers in a clinical document.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bontrack.errors import DocumentError as DocumentError  # re-exported for its users


def _no_duplicates(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DocumentError(f"the key {key!r} is given twice", key=key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise DocumentError(f"{name} is not a number")


def loads_json(text: str | bytes) -> Any:
    """Decode JSON, refusing duplicate keys and NaN/Infinity."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"not valid JSON ({exc.msg})", f"line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise DocumentError("not valid JSON (nested too deeply)") from None


#: Every byte to a space but the digits, which become "0": a run of 19 zeros in the
#: translated bytes is a run of 19 digits, a number orjson may turn into a float.
_DIGITS_AS_ZERO = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
_LONG_NUMBER = b"0" * 19


def loads_json_fast(raw: bytes) -> Any:
    """``loads_json`` at orjson's speed: the same document, or the same error.

    Where orjson would read a document otherwise, ``loads_json`` itself decodes it (and
    refuses it or reads it as before):

    - a key given twice: orjson keeps the last without a word. Without a backslash in the
      bytes no string holds an escape, so re-encoding the decoded document writes every
      string as it was typed: its colons are those of the kept keys and strings, and a key
      dropped takes its colon (and any in its value) with it. The counts of colons agree
      only where no key was dropped;
    - an integer of 19 digits or more: orjson turns one beyond 64 bits into a float;
    - anything orjson refuses (NaN, a byte-order mark, UTF-16, bad syntax)."""
    if b"\\" not in raw and _LONG_NUMBER not in raw.translate(_DIGITS_AS_ZERO):
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if raw.count(b":") == orjson.dumps(doc).count(b":"):
                return doc
    return loads_json(raw)


def _yaml() -> YAML:
    # The pure loader: ruamel's C loader implements YAML 1.1.
    loader = YAML(typ="safe", pure=True)
    loader.allow_duplicate_keys = False
    return loader


def loads_yaml(text: str) -> Any:
    """Decode YAML with 1.2 core-schema semantics, refusing duplicate keys."""
    try:
        return _yaml().load(text)
    except DuplicateKeyError as exc:
        key = _duplicate_key(exc)
        mark = exc.problem_mark
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        shown = repr(key) if key is not None else "a key"
        raise DocumentError(f"the key {shown} is given twice", where, key=key) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or "syntax error"
        raise DocumentError(f"not valid YAML ({problem})", where) from None
    except YAMLError as exc:
        raise DocumentError(f"not valid YAML ({exc})") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise DocumentError(f"not valid YAML ({exc})") from None


def _duplicate_key(exc: DuplicateKeyError) -> str | None:
    # ruamel words it as: found duplicate key "units" with value "40" (original value: "400")
    problem = exc.problem or ""
    start = problem.find('"')
    end = problem.find('"', start + 1)
    return problem[start + 1 : end] if 0 <= start < end else None
