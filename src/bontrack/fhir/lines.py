"""Bulk export as bytes: the NDJSON line of a resource built from precomputed byte pieces
instead of a dict that orjson then walks (issue 16: building dicts was half an export's CPU).

A kind may give a ``lines`` exporter beside its dict ``export``; both must give the same
bytes (``orjson.dumps(resource) + b"\\n"``), which ``tests/fhir/test_ndjson_lines.py``
checks on generated registries. The dict path stays the reference and serves $everything,
read and search. Pieces that repeat (a user, a muscle with its side, a product, a scale) are
serialised once per export (``memo``) and kept in the context's cache, like their dicts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson

from bontrack.clinical.result import number
from bontrack.fhir.mapping import Context, Json
from bontrack.fhir.tables import CY, Batch
from bontrack.fhir.tables import columns as columns  # the kinds import it from here

dumps = orjson.dumps
NL = b"\n"


def memo(ctx: Context, name: str) -> dict[Any, bytes]:
    """A table of serialised pieces for this export (``memo.get(k) or memo.setdefault(k,
    build)``: a hit costs one lookup, no closure)."""
    table: dict[Any, bytes] = ctx.shared(("bytes-memo", name), dict)
    return table


def fixed(piece: bytes) -> bytes:
    """A constant piece spliced into a ``%`` template (its own ``%`` doubled): a line is
    then one formatting call with its varying parts as slots, instead of a list joined."""
    return piece.replace(b"%", b"%%")


def members(value: Json) -> bytes:
    """A dict's members without the braces (to splice into an enclosing object)."""
    return dumps(value)[1:-1]


def num(value: Decimal | None) -> bytes:
    """A stored Decimal as the JSON number the dict path writes (``clinical.result.number``)."""
    if value is None:
        return b"null"
    if value == value.to_integral_value():
        return str(int(value)).encode()
    return dumps(number(value))


def text(value: str) -> bytes:
    """A JSON string (quoted and escaped as orjson does)."""
    return dumps(value)


def ident(value: int) -> bytes:
    return str(value).encode()


def isoday(value: date) -> bytes:
    """``mapping.day`` as bytes, formatted once per day (``date.isoformat`` costs about a
    quarter of a microsecond; a bulk export writes one or two days per resource, and a
    registry has far fewer days than resources)."""
    hit = _DAYS.get(value)
    if hit is None:
        if len(_DAYS) >= _DAYS_KEPT:
            _DAYS.clear()
        hit = _DAYS[value] = value.isoformat().encode()
    return hit


#: the days ``isoday`` has formatted (a plain dict, emptied when it reaches ``_DAYS_KEPT``)
_DAYS: dict[date, bytes] = {}
_DAYS_KEPT = 20_000
#: ``b"00"`` to ``b"59"``: a pasted piece is cheaper than a ``%02d``
_TWO = tuple(b"%02d" % n for n in range(60))


def stamp(value: datetime) -> bytes:
    """``mapping.instant`` as bytes, without its string: the day from ``isoday``'s table, the
    time from two-digit pieces (half the cost of formatting each field, and a bulk export
    writes one or two per resource). The same text: seconds always, microseconds when there
    are any, the offset of UTC."""
    tz = value.tzinfo
    if tz is not None and tz is not UTC:
        value = value.astimezone(UTC)
    d = value.date()
    us = value.microsecond
    if us:
        return b"%bT%b:%b:%b.%06d+00:00" % (
            _DAYS.get(d) or isoday(d), _TWO[value.hour], _TWO[value.minute], _TWO[value.second],
            us)
    return b"%bT%b:%b:%b+00:00" % (
        _DAYS.get(d) or isoday(d), _TWO[value.hour], _TWO[value.minute], _TWO[value.second])


def dec(table: dict[Any, bytes], value: Decimal) -> bytes:
    """``num(value)`` through a memo keyed by the number's text, not the Decimal: the first
    hash of a Decimal (each one read from the database is new) costs about a microsecond
    (modular exponentiation), its ``str`` a twentieth of that. Equal numbers written
    differently (``3.5``, ``3.50``) are two keys with the same bytes."""
    key = str(value)
    return table.get(key) or table.setdefault(key, num(value))


def cycle_meta(batch: Batch, cy: Any) -> bytes:
    """``meta`` of a cycle's resources (its Encounter, Procedure, vials and injections all
    take the cycle's version and time of change): formatted once per batch."""
    n = cy[CY_ID]
    hit = batch.pieces.get(("meta", n))
    if hit is None:
        hit = batch.pieces[("meta", n)] = meta(cy[CY_VERSION], cy[CY_UPDATED])
    return hit


def meta(version: int | None, updated: Any) -> bytes:
    """``mapping.meta`` as the bytes that follow a resource's id, quote included:
    ``","meta":{...}`` (the piece after it starts with the comma of its member)."""
    return b'","meta":{"versionId":"%d","lastUpdated":"%b"}' % (version or 1, stamp(updated))


CY_ID, CY_VERSION, CY_UPDATED = columns(CY, "id", "version", "updated_at")
