"""Accounts: clinics, users with argon2-hashed passwords, bearer tokens, lock-out."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bontrack.config import ServerSettings
from bontrack.errors import (
    Conflict,
    InvalidRecord,
    NotAuthenticated,
    NotFound,
    PasswordChangeRequired,
)
from bontrack.services import audit
from bontrack.services.access import Actor
from bontrack.services.passwords import password_problem
from bontrack.services.ratelimit import SIGN_IN, TooManyAttempts
from bontrack.services.usecase import use_case
from bontrack.store.models import ApiToken, Clinic, Patient, User

HASHER = PasswordHasher()
SETTINGS = ServerSettings()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


@use_case()
def get_or_create_clinic(session: Session, name: str) -> Clinic:
    clinic = session.scalar(select(Clinic).where(Clinic.name == name))
    if clinic is None:
        clinic = Clinic(name=name, created_at=_now())
        session.add(clinic)
        session.flush()
    return clinic


@use_case()
def add_user(
    session: Session,
    *,
    clinic: Clinic,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    patient_id: int | None = None,
    must_change_password: bool = False,
) -> User:
    """Add an account. ``must_change_password``: the password was chosen by an
    administrator, so the user must choose their own at the first sign-in."""
    username = username.strip()
    if not username or len(username) > 80:
        raise InvalidRecord("username must be 1-80 characters", field="username")
    if role not in ("admin", "clinician", "nurse", "patient"):
        raise InvalidRecord(
            f"role must be admin, clinician, nurse or patient, got {role!r}", field="role"
        )
    problem = password_problem(password, username, display_name)
    if problem:
        raise InvalidRecord(problem, field="password")
    if role == "patient":
        patient = session.get(Patient, patient_id) if patient_id is not None else None
        if patient is None or patient.clinic_id != clinic.id:
            raise InvalidRecord(
                "a patient account needs the id of a patient of the same clinic",
                field="patient_id",
            )
    elif patient_id is not None:
        raise InvalidRecord("only patient accounts link to a patient", field="patient_id")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken", field="username")
    user = User(
        clinic_id=clinic.id,
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=HASHER.hash(password),
        patient_id=patient_id,
        disabled=False,
        failed_logins=0,
        created_at=_now(),
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return user


@use_case()
def add_user_to_clinic(session: Session, /, clinic_name: str, **account: Any
                       ) -> dict[str, Any]:
    """Add an account to the clinic of that name (created if new); the account as a row."""
    user = add_user(session, clinic=get_or_create_clinic(session, clinic_name), **account)
    return _user_row(user)


def _user_row(u: User) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "role": u.role, "clinic_id": u.clinic_id,
            "patient_id": u.patient_id, "disabled": u.disabled,
            "display_name": u.display_name}


@use_case()
def list_users(session: Session) -> list[dict[str, Any]]:
    """Every account, as rows (never the password hash)."""
    return [_user_row(u) for u in
            session.scalars(select(User).order_by(User.clinic_id, User.username))]


@use_case()
def user_exists(session: Session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username == username)) is not None


@use_case()
def active_actor(session: Session, username: str) -> Actor | None:
    """The actor of an active account (a command run ``--as`` that user), else None."""
    user = session.scalar(select(User).where(User.username == username))
    return None if user is None or user.disabled else actor_of(user)


@use_case()
def disable_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    user.disabled = True
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.revoked = True
    return user


def _revoke_tokens(session: Session, user: User) -> None:
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                           ApiToken.revoked.is_(False)).values(revoked=True))


@use_case()
def set_password(session: Session, username: str, password: str,
                 by: str = "an administrator") -> User:
    """An administrator sets ``username``'s password (a reset): it must meet the policy, the
    user must change it at the next sign-in, the account's sessions end and its lock-out is
    lifted. Audited."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    problem = password_problem(password, user.username, user.display_name)
    if problem:
        raise InvalidRecord(problem, field="password")
    user.password_hash = HASHER.hash(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    _revoke_tokens(session, user)
    audit.record(session, None, "set_password", "user", user.id,
                 detail=f"set by {by}; to be changed at the next sign-in")
    return user


@contextmanager
def _attempt(session: Session, action: str, address: str) -> Iterator[None]:
    """A password attempt (sign-in or password change): refused and audited while the
    client address is throttled; a wrong password counts towards the throttle."""
    try:
        SIGN_IN.check(address)
    except TooManyAttempts:
        audit.record(session, None, action, "user", outcome="denied",
                     detail=f"throttled; address={address}")
        raise
    try:
        yield
    except NotAuthenticated:
        SIGN_IN.failed(address)
        raise


@use_case(keep_on=(NotAuthenticated, TooManyAttempts))
def change_password(session: Session, username: str, current: str, new: str,
                    address: str = "unknown") -> User:
    """The user changes their own password, proving the current one (with the same
    throttle, lock-out and audit as a sign-in). The new one must meet the policy and differ
    from the current one; the account's other sessions end. Audited."""
    with _attempt(session, "change_password", address):
        user = _verify(session, username, current, address, "change_password")
    if new == current:
        raise InvalidRecord("the new password must differ from the current one",
                            field="new_password")
    problem = password_problem(new, user.username, user.display_name)
    if problem:
        raise InvalidRecord(problem, field="new_password")
    user.password_hash = HASHER.hash(new)
    user.must_change_password = False
    _revoke_tokens(session, user)
    audit.record(session, actor_of(user), "change_password", "user", user.id,
                 detail=f"address={address}")
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@use_case(keep_on=(NotAuthenticated, TooManyAttempts, PasswordChangeRequired))
def sign_in(session: Session, username: str, password: str, address: str = "unknown"
            ) -> tuple[str, User]:
    """Check the password and issue a bearer token. Failures count towards the account's
    lock-out and towards the client address's throttle (``services.ratelimit``)."""
    with _attempt(session, "sign_in", address):
        return _sign_in(session, username, password, address)


@use_case(keep_on=(NotAuthenticated, TooManyAttempts, PasswordChangeRequired))
def start_session(session: Session, username: str, password: str, address: str,
                  previous: str | None) -> tuple[str, User]:
    """Sign in and end the session this browser had (session rotation), together."""
    token, user = sign_in(session, username, password, address)
    if previous:
        sign_out(session, previous)
    return token, user


@use_case(keep_on=(NotAuthenticated, TooManyAttempts))
def change_password_and_start_session(session: Session, username: str, current: str,
                                      new: str, address: str, previous: str | None
                                      ) -> tuple[str, User]:
    """The web's password page: change the password, then sign in with the new one."""
    change_password(session, username, current, new, address)
    return start_session(session, username, new, address, previous)


def _sign_in(session: Session, username: str, password: str, address: str
             ) -> tuple[str, User]:
    user = _verify(session, username, password, address, "sign_in")
    if user.must_change_password:
        audit.record(session, None, "sign_in", "user", user.id, outcome="denied",
                     detail=f"password change required; address={address}")
        raise PasswordChangeRequired(
            "this password was set by an administrator and must be changed before signing "
            "in: choose a new one on the web sign-in page (/password) or with POST "
            "/api/v1/auth/password (username, current_password, new_password)")
    now = _now()
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_hash_token(token),
            created_at=now,
            expires_at=now + timedelta(hours=SETTINGS.token_hours),
            revoked=False,
        )
    )
    audit.record(session, actor_of(user), "sign_in", "user", user.id)
    return token, user


def _verify(session: Session, username: str, password: str, address: str, action: str
            ) -> User:
    """The account whose password this is, or NotAuthenticated. Every refusal is audited
    with its reason and the client address (ASVS V7.2.1); wrong passwords count towards
    the account's lock-out."""
    user = session.scalar(select(User).where(User.username == username))
    failure = NotAuthenticated("wrong username or password")

    def refused(why: str) -> None:
        audit.record(session, None, action, "user", user.id if user else None,
                     outcome="denied", detail=f"{why}; address={address}")

    if user is None:
        HASHER.hash(password)  # same work either way: no user enumeration by timing
        refused(f"unknown username {username[:80]!r}")
        raise failure
    now = _now()
    if user.disabled:
        refused("account disabled")
        raise NotAuthenticated("this account is disabled")
    if user.locked_until is not None and _aware(user.locked_until) > now:
        refused("account locked")
        raise NotAuthenticated(
            "too many failed sign-ins: this account is locked until "
            f"{_aware(user.locked_until):%H:%M} UTC"
        )
    try:
        HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        # counted in the database, not in Python: parallel wrong passwords all count
        failures = session.execute(
            update(User).where(User.id == user.id)
            .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins)
        ).scalar_one()
        if failures >= SETTINGS.max_failed_logins:
            session.execute(update(User).where(User.id == user.id).values(
                locked_until=now + timedelta(minutes=SETTINGS.lockout_minutes),
                failed_logins=0))
        session.expire(user)
        refused("wrong password")
        raise failure from None
    user.failed_logins = 0
    user.locked_until = None
    return user


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        clinic_id=user.clinic_id,
        role=user.role,
        username=user.username,
        patient_id=user.patient_id,
    )


@use_case()
def display_name(session: Session, user_id: int | None) -> str | None:
    """The name a user's records show (none for an unknown or absent user)."""
    if user_id is None:
        return None
    return session.scalar(select(User.display_name).where(User.id == user_id))


@use_case()
def actor_for_token(session: Session, token: str) -> Actor:
    """The account behind a bearer token, in one query (this runs on every request)."""
    row = session.execute(
        select(User.id, User.clinic_id, User.role, User.username, User.patient_id,
               User.disabled, ApiToken.id.label("token_id"), ApiToken.revoked,
               ApiToken.expires_at, ApiToken.created_at, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _hash_token(token))
    ).first()
    now = _now()
    if row is None or row.revoked or _aware(row.expires_at) <= now:
        raise NotAuthenticated("the bearer token is unknown, expired or revoked")
    last = _aware(row.last_used_at or row.created_at)
    if now - last > timedelta(minutes=SETTINGS.idle_minutes):
        raise NotAuthenticated(f"the session ended after {SETTINGS.idle_minutes} minutes "
                               "without use; sign in again")
    if row.disabled:
        raise NotAuthenticated("this account is disabled")
    if now - last > timedelta(minutes=1):  # refresh at most once a minute
        session.execute(update(ApiToken).where(ApiToken.id == row.token_id)
                        .values(last_used_at=now))
    return Actor(user_id=row.id, clinic_id=row.clinic_id, role=row.role,
                 username=row.username, patient_id=row.patient_id)


@use_case()
def sign_out(session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is not None:
        row.revoked = True
