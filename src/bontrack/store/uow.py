"""The unit of work: one transaction, opened by whoever runs a use case (a request, a
command) and committed by the use case itself (``bontrack.services.usecase``).

Leaving the ``with`` block without a commit rolls everything back, so a failure anywhere
leaves nothing half-saved. The edges (api, web, cli, reports) only ever hold a
``UnitOfWork`` and hand it to services; they never see a session or a model.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bontrack.store.db import make_engine, reader_engine, session_factory, writer_lock


class UnitOfWork:
    """``with uow: ... uow.commit()``. Re-entering an open unit of work is an error (one
    transaction, one owner)."""

    def __init__(self, sessions: sessionmaker[Session],
                 lock: AbstractContextManager[Any] | None = None) -> None:
        self._sessions = sessions
        self._lock = lock if lock is not None else nullcontext()
        self._session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        self._lock.__enter__()
        try:
            self._session = self._sessions()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        session, self._session = self._session, None
        try:
            if session is not None:
                try:
                    session.rollback()  # whatever the use case did not commit
                finally:
                    session.close()
        finally:
            self._lock.__exit__(kind, exc, tb)

    @property
    def session(self) -> Session:
        """The open session (for services and the store only)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `with uow:`")
        return self._session

    @property
    def is_open(self) -> bool:
        return self._session is not None

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


class Database:
    """What a process opens once: the engine and its units of work. Writers queue on the
    SQLite writer lock (see ``store.db.writer_lock``); long read-only work (exports,
    reports) asks for ``reading()``, which never holds up writers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writers = session_factory(engine)
        self._readers: sessionmaker[Session] | None = None

    @classmethod
    def at(cls, url: str, **kw: Any) -> Database:
        """Open the database at ``url`` (SQLite file or server URL)."""
        return cls(make_engine(url, **kw))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._writers, writer_lock(self.engine))

    def reading(self) -> UnitOfWork:
        """A unit of work for long reads (exports, reports): a consistent snapshot that
        takes no writer lock on either database (see ``store.db.reader_engine``)."""
        if self._readers is None:
            self._readers = session_factory(reader_engine(self.engine), writer=False)
        return UnitOfWork(self._readers)

    def dispose(self) -> None:
        if self._readers is not None and self._readers.kw["bind"] is not self.engine:
            self._readers.kw["bind"].dispose()
        self.engine.dispose()
