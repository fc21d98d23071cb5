"""Services own their transactions: a use case commits the unit of work it was given.

A use case is written against a SQLAlchemy session (the store's language) and called with
a ``UnitOfWork`` by the edges. When it returns, its work is committed; when it raises,
its writes are rolled back at once (a later use case in the same unit of work never
commits them), except for the errors named in
``keep_on``, whose writes are part of the answer (a failed sign-in is counted and audited
even though the sign-in is refused). A use case called by another use case is given the
caller's session and joins its transaction: the outermost one commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bontrack.errors import NeedsWriter, VersionMismatch
from bontrack.store.uow import Database, UnitOfWork

#: Attempts of a use case that met a deadlock or a serialization failure (PostgreSQL; no
#: application-wide lock orders the transactions any more, so two may cross).
RETRIES = 3
#: PostgreSQL: deadlock detected, serialization failure.
TRANSIENT = frozenset({"40P01", "40001"})


def _transient(exc: BaseException) -> bool:
    """A failure that running the use case again cures (its work was rolled back)."""
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in TRANSIENT


def _stale() -> VersionMismatch:
    return VersionMismatch("the record was changed by someone else while this change was "
                           "saved; reload and apply your change again", field="version")


def _commit(work: UnitOfWork) -> None:
    """Commit; a version check that fails at the final flush is a stale edit (412)."""
    try:
        work.commit()
    except StaleDataError:
        work.rollback()
        raise _stale() from None

P = ParamSpec("P")
R = TypeVar("R")

#: What a use case is called with: the edge's unit of work, or (from another use case or a
#: test holding a transaction) an open session.
Work = UnitOfWork | Session

UseCase = Callable[Concatenate[Work, P], R]


def use_case(*, keep_on: tuple[type[BaseException], ...] = ()
             ) -> Callable[[Callable[Concatenate[Session, P], R]], UseCase[P, R]]:
    """Mark a service function as a use case (see the module docstring)."""

    def wrap(fn: Callable[Concatenate[Session, P], R]) -> UseCase[P, R]:
        @wraps(fn)
        def run(work: Work, /, *args: P.args, **kwargs: P.kwargs) -> R:
            if isinstance(work, Session):
                return fn(work, *args, **kwargs)
            attempt = 1
            while True:
                try:
                    result = fn(work.session, *args, **kwargs)
                except keep_on:
                    try:
                        _commit(work)
                    except NeedsWriter:  # its flush wrote: again, as a writer
                        work.rollback()
                        work.promote()
                        continue
                    raise
                except NeedsWriter:
                    work.rollback()
                    work.promote()  # a read that writes after all: again, as a writer
                    continue
                except BaseException as exc:
                    work.rollback()  # a later use case in this unit of work must not commit it
                    if attempt < RETRIES and _transient(exc):
                        attempt += 1
                        continue
                    if isinstance(exc, StaleDataError):
                        raise _stale() from None
                    raise
                try:
                    _commit(work)
                except NeedsWriter:  # a change left for the commit's flush (an ORM attribute)
                    work.rollback()
                    work.promote()
                    continue
                except DBAPIError as exc:
                    work.rollback()
                    if attempt < RETRIES and _transient(exc):
                        attempt += 1
                        continue
                    raise
                return result

        return run

    return wrap


@contextmanager
def committed(db: Database) -> Iterator[Session]:
    """A batch job's own step (the demo generator, an analytics rebuild): one unit of work,
    committed when the block ends without an error."""
    with db.unit_of_work() as uow:
        yield uow.session
        uow.commit()
