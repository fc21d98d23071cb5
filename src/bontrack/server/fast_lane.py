"""A fast lane for the hottest GETs: their common case answered before anything of
FastAPI's runs, everything else by the app as declared.

On a timeline GET the framework's layers (FastAPI's telemetry check, the server-error,
exception-telemetry and body-limit middlewares, the security headers' wrapper of every
message, the exception middleware, the exit stack, trying the routes in turn, dependency
solving and parameter validation) took as long as bontrack's own work (issue 16).
``LanedApp`` is FastAPI with lanes tried first, in its own ``__call__``: a request whose
method and path match a lane, and that sends no body, goes to the lane's handler. When the
handler returns None (an id or header it does not plainly accept, an unknown token,
anything not plainly allowed, an answer not built yet) or raises, the request goes on to
the app untouched, and the declared route gives exactly the answer, error, refusal and
audit of a refusal it always gave. A handler must change nothing before it decides to
answer, and its answer must be the declared route's: a JSON body with status 200, and the
headers the app's own middlewares add to every answer.

The lanes pass by every middleware added with ``add_middleware``, so each must be
accounted for (``lanes_pass``): the security headers give the headers they add
(``web.security``), the body limit is kept by leaving every GET that declares a body to
the app. Should a middleware be added that nobody accounted for, the lanes are off and the
app answers everything, so that no middleware is ever skipped unseen.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

LOG = logging.getLogger(__name__)

#: ``handler(app, scope, *groups)``: the JSON body to answer with, or None (the app answers).
Handler = Callable[..., Awaitable[bytes | None]]
#: ``headers(path, https)``: headers a middleware adds to every answer on ``path``.
AddedHeaders = Callable[[str, bool], Sequence[tuple[bytes, bytes]]]

_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True)
class Lane:
    """``method`` and a full-match ``path`` pattern; the handler gets the app, the ASGI
    scope and the pattern's groups."""

    method: str
    path: re.Pattern[str]
    handler: Handler


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """The first ``name`` header of the request (lower case, as the server gives them),
    decoded as Starlette's ``request.headers`` decodes it; None when it sends none."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _sends_body(scope: dict[str, Any]) -> bool:
    """A GET that declares a body, or declares it oddly, is left to the app (its body limit,
    its errors): only a ``Content-Length`` of digits worth 0, or none, and no
    ``Transfer-Encoding``, count as no body."""
    for key, value in scope["headers"]:
        if key == b"transfer-encoding" or (
                key == b"content-length" and not (value.isdigit() and int(value) == 0)):
            return True
    return False


class LanedApp(FastAPI):
    """FastAPI with fast lanes tried before anything else (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lanes: tuple[Lane, ...] = ()
        #: What the app's middlewares add to every answer, asked for each lane's answer.
        self.lane_headers: list[AddedHeaders] = []
        #: The middlewares whose work the lanes do themselves (``lanes_pass``).
        self._passed: set[Any] = set()
        self._lanes_on: bool | None = None

    def add_lanes(self, lanes: Sequence[Lane]) -> None:
        self.lanes += tuple(lanes)

    def lanes_pass(self, middleware: Any, headers: AddedHeaders | None = None) -> None:
        """The lanes may pass ``middleware`` by: what it adds to an answer is ``headers``
        (or nothing), and it does nothing else to a GET without a body."""
        self._passed.add(middleware)
        if headers is not None:
            self.lane_headers.append(headers)

    def add_middleware(self, *args: Any, **kwargs: Any) -> None:
        super().add_middleware(*args, **kwargs)
        self._lanes_on = None  # to be judged again with this one

    def _lanes_usable(self) -> bool:
        if self._lanes_on is None:
            strangers = [m.cls for m in self.user_middleware if m.cls not in self._passed]
            if strangers:
                LOG.warning("fast lanes off: no lane accounts for %s",
                            ", ".join(getattr(c, "__name__", str(c)) for c in strangers))
            self._lanes_on = not strangers
        return self._lanes_on

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.lanes and self._lanes_usable():
            if self.root_path:  # as FastAPI's own __call__ does
                scope["root_path"] = self.root_path
            body = await self._lane(scope)
            if body is not None:
                headers = [(b"content-length", str(len(body)).encode()), _JSON]
                if self.lane_headers:
                    path, https = scope["path"], scope.get("scheme") == "https"
                    for added in self.lane_headers:
                        headers += added(path, https)
                await send({"type": "http.response.start", "status": 200,
                            "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await super().__call__(scope, receive, send)

    async def _lane(self, scope: dict[str, Any]) -> bytes | None:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        method = scope["method"]
        for lane in self.lanes:
            if method != lane.method:
                continue
            found = lane.path.fullmatch(path)
            if found is None:
                continue
            if _sends_body(scope):
                return None
            try:
                return await lane.handler(self, scope, *found.groups())
            except Exception:  # the declared route answers, and renders any error
                LOG.debug("fast lane %s gave way", lane.path.pattern, exc_info=True)
                return None
        return None
