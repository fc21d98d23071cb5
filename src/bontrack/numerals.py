"""Numbers typed by a person or a client: ASCII digits only, and not too many of them.

``str.isdigit()`` is true for ``²``, ``³``, ``①`` and Arabic-Indic ``١٢٣``, which ``int()``
then refuses (or, for ``hmac.compare_digest``, cannot compare): each was a 500 (issue 17,
F12, F13, F16). A string of 5000 ASCII digits passes ``isdigit()`` too and ``int()`` refuses
it past 4300 digits. Every "is this a number" check of outside input goes through here.
"""

from __future__ import annotations

#: Digits of a record id or version: every 9-digit number fits the database's INTEGER.
ID_DIGITS = 9


def is_digits(raw: str, max_digits: int = ID_DIGITS) -> bool:
    """Whether ``raw`` is 1 to ``max_digits`` ASCII digits (``0``-``9``), nothing else."""
    return 0 < len(raw) <= max_digits and raw.isascii() and raw.isdigit()


def digits_value(raw: str, max_digits: int = ID_DIGITS) -> int | None:
    """``raw`` as a number when ``is_digits(raw, max_digits)``, else None."""
    return int(raw) if is_digits(raw, max_digits) else None
