"""`bontrack triage`: is what a patient wrote urgent? (contract: docs/triage.md)

    bontrack triage TEXT... [--json]    several arguments are joined with spaces: one report
    bontrack triage - [--json]          one report per line of standard input

Exit status: 0 not urgent; 1 urgent (at least one red flag, in any report); 2 the input could
not be read (empty, not UTF-8; with ``-``: no report urgent and at least one line unreadable).
Errors are one line on standard error. A report of any length is triaged in full. With ``-``
each line is triaged on its own: a line that cannot be read gets its own error line and never
hides the others; ``-`` together with TEXT is a usage error (standard input is never ignored).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from bontrack.errors import BontrackError, RecordError
from bontrack.reference import Reference, default_reference
from bontrack.services.triage import triage_any_length

EXIT_URGENT = 1
EXIT_UNREADABLE = 2
#: The most standard input read for ``-`` (bytes): a batch of reports, one per line.
MAX_STDIN_BYTES = 10_000_000


def _readable(text: str, where: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # arguments that were not UTF-8 arrive as lone surrogates
        raise BontrackError(f"{where}: is not UTF-8 text") from None
    if not text.strip():
        raise BontrackError(f"{where}: is empty; give what the patient wrote")
    return text


def _stdin_lines() -> list[tuple[int, str | BontrackError]]:
    """Each non-blank line of standard input with its number: its text, or the error that
    makes it unreadable (not UTF-8). One bad line never hides the others."""
    raw = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(raw) > MAX_STDIN_BYTES:
        raise BontrackError(f"<stdin>: is larger than {MAX_STDIN_BYTES // 1_000_000} MB")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its mark (Windows Notepad)
        raise BontrackError("<stdin>: is UTF-16 text; save it as UTF-8")
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    lines: list[tuple[int, str | BontrackError]] = []
    # a line ends at LF, CRLF or a lone CR (old Mac files): never two reports read as one
    for n, chunk in enumerate(raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"),
                              1):
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            lines.append((n, BontrackError(
                f"<stdin> line {n}: is not UTF-8 text (byte {exc.start} of the line)")))
            continue
        if "\x00" in line:
            lines.append((n, BontrackError(
                f"<stdin> line {n}: holds a NUL byte (UTF-16 text?); save it as UTF-8")))
            continue
        if line.strip():
            lines.append((n, line))
    if not lines:
        raise BontrackError("<stdin>: is empty; give one report per line")
    return lines


def _one_line(doc: dict[str, Any]) -> str:
    if doc["urgent"]:
        what = "; ".join(f"{f['id']}: \"{f['matched']}\"" for f in doc["flags"])
        return f"URGENT ({what}). {doc['advice']}"
    if doc["unclear"] and not doc["possible"]:
        words = ", ".join(f'"{w}"' for w in doc["unread"] if w)
        what = f"not read: {words}" if words else "no words to read"
        return f"UNCLEAR ({what}). {doc['advice']}"
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
    if "-" in text and len(text) > 1:
        raise BontrackError("TEXT: give either - (one report per line on standard input) "
                            "or what the patient wrote, not both")
    ref = default_reference()
    try:
        if text == ["-"]:
            raise typer.Exit(_triage_stdin(ref, as_json))
        doc = triage_any_length(_readable(" ".join(text), "TEXT"), ref)
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


def _triage_stdin(ref: Reference, as_json: bool) -> int:
    """Triage each line on its own; a line that cannot be read gets its own error (an
    ``error`` object with ``--json``, and a line on standard error). Exit status: 1 when
    any report is urgent, else 2 when any line could not be read, else 0."""
    urgent = unreadable = False
    for n, line in _stdin_lines():
        if isinstance(line, BontrackError):
            unreadable = True
            sys.stderr.write(f"bontrack: error: {line.message}\n")
            if as_json:
                sys.stdout.write(json.dumps({"line": n, "error": line.message}) + "\n")
            else:
                sys.stdout.write(f"line {n}: ERROR: {line.message}\n")
            continue
        doc = triage_any_length(line, ref, field=f"<stdin> line {n}")
        urgent = urgent or bool(doc["urgent"])
        if as_json:
            sys.stdout.write(json.dumps({**doc, "line": n}, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(f"line {n}: {_one_line(doc)}\n")
        sys.stdout.flush()
    return EXIT_URGENT if urgent else EXIT_UNREADABLE if unreadable else 0
