"""The application state and the per-request dependencies shared by /api, /fhir and the web
pages: the request's unit of work (the use cases commit it before the answer is sent), the
bearer token, the signed-in actor, and the audit of a refused request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from bontrack.errors import AccessDenied, NotAuthenticated
from bontrack.reference import Reference
from bontrack.services import accounts, audit, ratelimit
from bontrack.services.access import Actor
from bontrack.services.schemas import ID_MAX, ID_MIN
from bontrack.store.uow import Database, UnitOfWork

R = TypeVar("R")

#: A record id in a path (``/cycles/{cycle_id}``): a number the database can hold, else 422
#: naming the parameter. Past INTEGER's range the database itself failed (issue 15: 500 for
#: ``/api/v1/cycles/9223372036854775808`` on SQLite and ``2147483648`` on PostgreSQL).
RecordId = Annotated[int, Path(ge=ID_MIN, le=ID_MAX)]


@dataclass
class State:
    db: Database
    ref: Reference


def state(request: Request) -> State:
    """The application's state (set once by ``bontrack.api.app.create_app``)."""
    st: State = request.app.state.bontrack
    return st


#: Methods whose requests read: their unit of work takes no writer lock (a use case that
#: writes after all is run again as a writer, ``store.uow.UnitOfWork.promote``).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextmanager
def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    """The request's unit of work: the use cases it runs commit their own work; whatever
    is left uncommitted when the block ends is rolled back. A GET reads without any
    writer lock; its audit events are committed by the audit writer before it answers."""
    db = state(request).db
    with db.snapshot() if request.method in READ_METHODS else db.unit_of_work() as uow:
        yield uow


def client_address(request: Request) -> str:
    """The client's address for throttling and audit: the socket peer, or what a trusted
    proxy (BONTRACK_TRUSTED_PROXIES) says in X-Forwarded-For (``services.ratelimit``)."""
    return ratelimit.client_address(request.client.host if request.client else None,
                                    request.headers.get("x-forwarded-for"))


def audit_denial(request: Request, exc: AccessDenied) -> None:
    """Record a refused attempt in its own transaction (the refused work was rolled back)."""
    actor = getattr(request.state, "actor", None)
    with unit_of_work(request) as uow:
        audit.record(uow, actor, request.method.lower(), exc.entity or "request", exc.entity_id,
                     exc.patient_id, outcome="denied",
                     detail=f"{request.url.path}: {exc.message}")


def bearer(request: Request) -> str:
    token = bearer_or_none(request)
    if token is None:
        raise NotAuthenticated("send 'Authorization: Bearer <token>' (POST /api/v1/auth/token)")
    return token


def bearer_or_none(request: Request) -> str | None:
    """The request's bearer token, or None when it sends none (or not as a bearer)."""
    return bearer_of(request.headers.get("authorization"))


def bearer_of(authorization: str | None) -> str | None:
    """The bearer token of an Authorization header's value, or None (none, or not a
    bearer)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


BEARER = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


async def current_token(request: Request,
                        _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
                        = None) -> str:
    """The bearer token of the request (checked against the store inside the request's own
    transaction, see ``authed``). ``async``, though it awaits nothing: FastAPI runs a plain
    ``def`` dependency in a worker thread, a hop on every request (issue 16)."""
    return bearer(request)


TokenDep = Annotated[str, Depends(current_token)]


@contextmanager
def authed(request: Request, token: str) -> Iterator[tuple[UnitOfWork, Actor]]:
    """The request's one transaction, with the signed-in actor resolved inside it."""
    with unit_of_work(request) as uow:
        actor = accounts.actor_for_token(uow, token)
        request.state.actor = actor
        yield uow, actor


async def off_loop(request: Request, call: Callable[..., R], *args: Any) -> R:
    """Run a use case of an async route: on SQLite in the event loop (in-process, no round
    trip: a thread hop would cost more), on a server database in a worker thread, so that
    the loop does not stand still through every network round trip of every request."""
    if state(request).db.dialect == "sqlite":
        return call(*args)
    return await run_in_threadpool(call, *args)


async def read_as(request: Request, token: str, call: Callable[..., R], *args: Any) -> R:
    """Answer a GET that only reads (the timeline) with ``call(uow, actor, *args)``: the
    actor is looked up in the same snapshot transaction as the read (one transaction, and on
    a server database one worker-thread hop, not two), and the answer waits, without
    holding a thread, until the audit writer has committed the request's events, so it
    still follows the commit of its audit event. A token whose use must be recorded (once a
    minute) goes through ``accounts.actor_for_token``, which writes and commits that."""
    with state(request).db.snapshot(wait=False) as uow:
        result: R = await off_loop(request, _read_as, request, uow, token, call, *args)
    await uow.audited()
    return result


def _read_as(request: Request, uow: UnitOfWork, token: str, call: Callable[..., R],
             *args: Any) -> R:
    actor = accounts.actor_without_writing(uow.session, token)
    if actor is None:
        actor = accounts.actor_for_token(uow, token)
    request.state.actor = actor
    return call(uow, actor, *args)
