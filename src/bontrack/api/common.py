"""What the REST API's route modules share: the path prefix, paging parameters and
answers, and the ETag / If-Match handshake (two clinicians never silently overwrite each
other)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import JSONResponse

from bontrack.errors import (
    VersionMismatch,
)
from bontrack.numerals import digits_value
from bontrack.services import records

V1 = "/api/v1"

Limit = Annotated[int, Query(ge=1, le=records.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
#: Keyset paging: the ``next_cursor`` of the page before (checked by the service).
Cursor = Annotated[str | None, Query(max_length=40)]


def version_of(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    raw = if_match.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    version = digits_value(raw)
    if version is None:
        raise VersionMismatch(f"If-Match must be an ETag this API gave, got {if_match[:40]!r}",
                              field="If-Match")
    return version


def one(body: dict[str, Any], status: int = 200) -> JSONResponse:
    headers = {"ETag": f'"{body["version"]}"'} if "version" in body else {}
    return JSONResponse(body, status_code=status, headers=headers)


def page(items: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if offset + limit < total else None}
