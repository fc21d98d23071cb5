"""Issue 14, item 1: services own their transactions. A use case commits the unit of work
it is given; a failing one leaves nothing behind, even when a later use case in the same
unit of work commits; the errors a use case keeps (a failed sign-in) are committed; a use
case called from another joins its transaction. Real SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.errors import InvalidRecord, NotAuthenticated
from bontrack.services import accounts
from bontrack.services.usecase import use_case
from bontrack.store.migrate import upgrade
from bontrack.store.models import Clinic, SignInThrottle, User
from bontrack.store.uow import Database, UnitOfWork

PASSWORD = "a long enough passphrase 42"


@pytest.fixture
def db(db_url: str):
    database = Database.at(db_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def clinics(db: Database) -> list[str]:
    with db.engine.connect() as c:
        return list(c.scalars(select(Clinic.name).order_by(Clinic.name)))


@use_case()
def add_clinic(session: Session, name: str, fail: bool = False) -> None:
    session.add(Clinic(name=name, created_at=accounts._now()))
    session.flush()
    if fail:
        raise InvalidRecord(f"refused after writing {name}", field="name")


@use_case()
def add_two(session: Session, first: str, second: str) -> None:
    add_clinic(session, first)  # joins this use case's transaction: no commit of its own
    add_clinic(session, second, fail=second == "boom")


def test_a_use_case_commits_its_work(db: Database):
    with db.unit_of_work() as uow:
        add_clinic(uow, "North")
    assert clinics(db) == ["North"]


def test_leaving_a_unit_of_work_without_a_use_case_commits_nothing(db: Database):
    with db.unit_of_work() as uow:
        uow.session.add(Clinic(name="Ghost", created_at=accounts._now()))
        uow.session.flush()
    assert clinics(db) == []


def test_a_failed_use_case_is_not_committed_by_the_next_one(db: Database):
    with db.unit_of_work() as uow:
        with pytest.raises(InvalidRecord):
            add_clinic(uow, "Half", fail=True)
        add_clinic(uow, "Whole")
    assert clinics(db) == ["Whole"]


def test_a_nested_use_case_joins_and_its_caller_commits_all_or_nothing(db: Database):
    with db.unit_of_work() as uow, pytest.raises(InvalidRecord):
        add_two(uow, "First", "boom")
    assert clinics(db) == []
    with db.unit_of_work() as uow:
        add_two(uow, "First", "Second")
    assert clinics(db) == ["First", "Second"]


def test_an_error_the_use_case_keeps_is_committed(db: Database):
    """A wrong password is refused, yet its count towards the throttle is saved."""
    with db.unit_of_work() as uow:
        accounts.add_user_to_clinic(uow, "North", username="dr.a", password=PASSWORD,
                                    role="clinician")
    with db.unit_of_work() as uow, pytest.raises(NotAuthenticated):
        accounts.sign_in(uow, "dr.a", "wrong password entirely", "10.0.0.9")
    with db.engine.connect() as c:
        assert c.scalar(select(SignInThrottle.failures).where(
            SignInThrottle.key == "pair:dr.a|10.0.0.9")) == 1
        assert c.scalar(select(func.count()).select_from(User)) == 1


def test_a_unit_of_work_is_opened_once_and_used_only_while_open(db: Database):
    uow = db.unit_of_work()
    with pytest.raises(RuntimeError, match="not open"):
        add_clinic(uow, "Closed")
    with uow, pytest.raises(RuntimeError, match="already open"):
        uow.__enter__()
    assert not uow.is_open
    assert isinstance(uow, UnitOfWork)


def test_a_reading_unit_of_work_sees_committed_work(db: Database):
    with db.unit_of_work() as uow:
        add_clinic(uow, "Seen")
    with db.reading() as uow:
        assert uow.session.scalar(select(Clinic.name)) == "Seen"
