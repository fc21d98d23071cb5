"""Cells for CSV files that a spreadsheet will open: text that a spreadsheet would run as a
formula is neutralised (OWASP "CSV injection": a leading single quote).

A patient can type a side-effect term such as ``=cmd|' /C calc'!A0``; the clinic's analyst
opens the export in a spreadsheet, which treats a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula. Every CSV that bontrack writes passes its
cells through here. Numbers stay numbers: a value that *is* a number (``int``, ``float``,
``Decimal``; never ``bool``) in a numeric column is written as it is, so ``-2`` in a change
column stays ``-2``; the same text typed by a person into a text column becomes ``'-2``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` with a single quote in front when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def is_number(value: Any) -> bool:
    """A real number from the program (not text that looks like one, not a boolean)."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def safe(value: Any, written: str | None = None) -> str:
    """The cell for ``value``: ``written`` (or ``str(value)``) unchanged for a number,
    neutralised for anything else; ``None`` is an empty cell."""
    if value is None:
        return ""
    text = str(value) if written is None else written
    return text if is_number(value) else neutralise(text)
