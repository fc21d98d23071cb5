"""JSON request bodies read as sent: a key given twice is refused, naming the key.

Python's ``json`` keeps the last of two equal keys, so ``{"product": "Botox", "product":
"Myobloc"}`` was recorded as Myobloc. Every API route is built with ``StrictJSONRoute``,
whose request decodes JSON through the same duplicate check as the CLI's plan reader.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute


class DuplicateKeyInBody(HTTPException):
    """Raised while FastAPI decodes the body; FastAPI lets HTTPExceptions through as they are,
    and the app renders this one as a 422 problem naming the key."""

    def __init__(self, key: str) -> None:
        super().__init__(422, f"the key {key!r} is given twice")
        self.key = key
        self.title = "Invalid request"
        self.field = key


def _pairs(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyInBody(key)
        out[key] = value
    return out


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=_pairs)
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
