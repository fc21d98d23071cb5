"""`bontrack triage`: is what a patient wrote urgent? (contract: docs/triage.md)

    bontrack triage TEXT... [--json]    several arguments are joined with spaces: one report
    bontrack triage - [--json]          one report per line of standard input

Exit status: 0 not urgent; 1 urgent (at least one red flag, in any report); 2 the input could
not be read (empty, not UTF-8, too long). Errors are one line on standard error.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from bontrack.errors import BontrackError, RecordError
from bontrack.reference import default_reference
from bontrack.services.triage import MAX_CHARS, triage_text

EXIT_URGENT = 1
#: The most standard input read for ``-`` (bytes): a batch of reports, one per line.
MAX_STDIN_BYTES = 10_000_000


def _readable(text: str, where: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # arguments that were not UTF-8 arrive as lone surrogates
        raise BontrackError(f"{where}: is not UTF-8 text") from None
    if not text.strip():
        raise BontrackError(f"{where}: is empty; give what the patient wrote")
    if len(text) > MAX_CHARS:
        raise BontrackError(f"{where}: is longer than {MAX_CHARS} characters")
    return text


def _stdin_reports() -> list[tuple[int, str]]:
    raw = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(raw) > MAX_STDIN_BYTES:
        raise BontrackError(f"<stdin>: is larger than {MAX_STDIN_BYTES // 1_000_000} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BontrackError(
            f"<stdin>: line {line} is not UTF-8 text (byte {exc.start})"
        ) from None
    reports = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not reports:
        raise BontrackError("<stdin>: is empty; give one report per line")
    for n, line in reports:
        _readable(line, f"<stdin> line {n}")
    return reports


def _one_line(doc: dict[str, Any]) -> str:
    if doc["urgent"]:
        what = "; ".join(f"{f['id']}: \"{f['matched']}\"" for f in doc["flags"])
        return f"URGENT ({what}). {doc['advice']}"
    if doc["unclear"]:
        what = "; ".join(f"{f['id']}: \"{f['matched']}\" ({f['reason']})" for f in doc["possible"])
        return f"UNCLEAR ({what}). {doc['advice']}"
    return f"NOT URGENT. {doc['advice']}"


def triage(
    text: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TEXT...",
            help="What the patient wrote (several words are joined with spaces), "
            "or - to read one report per line from standard input.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Triage what a patient reports: urgent (a red flag), unclear or not urgent.

    Exit status: 0 not urgent; 1 urgent; 2 the input could not be read.
    """
    if not text:
        raise BontrackError("TEXT: missing; give what the patient wrote, or - to read "
                            "one report per line from standard input")
    ref = default_reference()
    try:
        if text == ["-"]:
            docs = [(n, triage_text(line, ref)) for n, line in _stdin_reports()]
            for n, doc in docs:
                if as_json:
                    sys.stdout.write(json.dumps({**doc, "line": n}, ensure_ascii=False) + "\n")
                else:
                    sys.stdout.write(f"line {n}: {_one_line(doc)}\n")
            urgent = any(doc["urgent"] for _, doc in docs)
        else:
            doc = triage_text(_readable(" ".join(text), "TEXT"), ref)
            if as_json:
                sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            else:
                sys.stdout.write(_one_line(doc) + "\n")
                for f in doc["flags"] + doc["possible"]:
                    sys.stdout.write(f"  {f['id']}: source {f['source']}\n")
            urgent = bool(doc["urgent"])
    except RecordError as exc:
        raise BontrackError(exc.message) from None
    raise typer.Exit(EXIT_URGENT if urgent else 0)
