"""A fast lane for the hottest GETs: their common case answered before FastAPI's routing
and request handling, everything else by the app as declared.

On a timeline GET the framework's layers under the security headers (the exception
middleware, the exit stack, trying the routes in turn, dependency solving and parameter
validation) took as long as bontrack's own work (issue 16). ``FastLane`` sits just inside
the security headers; a request whose method and path match a lane goes to the lane's
handler first. When the handler returns None (an id or header it does not plainly
accept, an unknown token, anything not plainly allowed, an answer not built yet) or
raises, the request goes on to the app untouched, and the declared route gives exactly
the answer, error, refusal and audit of a refusal it always gave. A handler must change
nothing before it decides to answer, and its answer must be the declared route's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

LOG = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Response | None]]


@dataclass(frozen=True)
class Lane:
    """``method`` and a full-match ``path`` pattern; the handler gets the request and the
    pattern's groups."""

    method: str
    path: re.Pattern[str]
    handler: Handler


class FastLane:
    """ASGI middleware: try the lanes, then the app (see the module's docstring)."""

    def __init__(self, app: Any, lanes: Sequence[Lane]) -> None:
        self.app = app
        self.lanes = tuple(lanes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root):]
            for lane in self.lanes:
                if scope["method"] != lane.method:
                    continue
                found = lane.path.fullmatch(path)
                if found is None:
                    continue
                try:
                    answer = await lane.handler(Request(scope, receive), *found.groups())
                except Exception:  # the declared route answers, and renders any error
                    LOG.debug("fast lane %s gave way", lane.path.pattern, exc_info=True)
                    answer = None
                if answer is not None:
                    await answer(scope, receive, send)
                    return
                break
        await self.app(scope, receive, send)
