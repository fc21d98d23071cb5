"""``Content-Disposition`` for downloads: every file name the server suggests goes through
``attachment()`` (security review of issue 17, F1/F2).

A file name can carry user input (a lot number, a scale): HTTP headers are Latin-1 and a
name with ``中`` or ``Ā`` made Starlette fail (500); a ``"`` or ``;`` added parameters of
its own (``filename="evil.html"``), CR/LF dropped the connection. The header is built as
RFC 6266 asks: an ASCII ``filename=`` fallback (letters, digits, ``-``, ``_``, ``.``
only) and the name itself as ``filename*=UTF-8''…`` percent-encoded (RFC 5987/8187), so no
quote, semicolon, control character or path separator can reach the header as itself.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

#: Characters kept as they are in the ASCII fallback name.
SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")

#: Longest suggested name (characters), extension included.
NAME_MAX = 120


def clean_name(name: str) -> str:
    """``name`` without control, format or path characters (each becomes ``_``), no
    leading dot, at most ``NAME_MAX`` characters; ``download`` when nothing is left."""
    kept = "".join("_" if unicodedata.category(ch)[0] in "CZ" or ch in '/\\"\';:*?<>|%'
                   else ch for ch in name)
    stem, dot, ext = kept.rpartition(".")
    if dot and 0 < len(ext) <= 8:
        kept = stem[: NAME_MAX - len(ext) - 1] + "." + ext
    kept = kept[:NAME_MAX].lstrip(".")
    return kept or "download"


def ascii_name(name: str) -> str:
    """The ASCII fallback: an accented letter as its plain letter (``é`` -> ``e``), any
    other character outside ``SAFE`` as ``_``."""
    out = []
    for ch in name:
        plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
        out.append("".join(c if c in SAFE else "_" for c in plain) or "_")
    return "".join(out).lstrip(".") or "download"


def attachment(name: str) -> str:
    """The ``Content-Disposition`` value offering ``name`` as a download: always Latin-1
    safe, one ``filename`` and one ``filename*`` parameter whatever ``name`` holds."""
    kept = clean_name(name)
    return (f'attachment; filename="{ascii_name(kept)}"; '
            f"filename*=UTF-8''{quote(kept, safe='')}")
