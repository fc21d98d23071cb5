"""Accounts: clinics, users with argon2-hashed passwords, bearer tokens, sign-in throttling
(``services.ratelimit``, no lock-out) and TOTP second factor (``services.mfa``)."""

from __future__ import annotations

import hashlib
import secrets
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bontrack.config import ServerSettings, mfa_required
from bontrack.errors import (
    AccessDenied,
    Conflict,
    InvalidRecord,
    NotAuthenticated,
    NotFound,
    PasswordChangeRequired,
    SecondFactorSetupRequired,
)
from bontrack.numerals import is_digits
from bontrack.services import audit, mfa, ratelimit
from bontrack.services.access import Actor
from bontrack.services.passwords import password_problem
from bontrack.services.usecase import use_case
from bontrack.store.models import ApiToken, Clinic, Patient, User

HASHER = PasswordHasher()
SETTINGS = ServerSettings()
MFA_ROLES = ("admin", "clinician")  # roles that must use a second factor


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
    user must change it at the next sign-in and the account's sessions end. Audited."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    problem = password_problem(password, user.username, user.display_name)
    if problem:
        raise InvalidRecord(problem, field="password")
    user.password_hash = HASHER.hash(password)
    user.must_change_password = True
    _revoke_tokens(session, user)
    audit.record(session, None, "set_password", "user", user.id,
                 detail=f"set by {by}; to be changed at the next sign-in")
    return user


#: One answer for every refused password step: unknown user, wrong password, disabled
#: account, throttled attempt (OWASP ASVS 4.0.3 V2.2.1 / Authentication Cheat Sheet). The
#: audit trail keeps the true reason.
FAILED = ("wrong username or password; after repeated failures, wait a few minutes before "
          "trying again")
WRONG_CODE = "the code is wrong, expired or used already; enter the code the app shows now"
SCOPES = {"pair": "username at this address", "addr": "address", "acct": "account"}
KEEP = (NotAuthenticated, PasswordChangeRequired, SecondFactorSetupRequired)


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _burn(password: str) -> None:
    """The work of a password check, for answers that check none (same timing)."""
    with suppress(VerificationError, InvalidHashError):
        HASHER.verify(_dummy_hash(), password)


def _enrolled(user: User) -> bool:
    return user.totp_enrolled_at is not None and user.totp_secret is not None


def _must_enrol(user: User) -> bool:
    return user.role in MFA_ROLES and mfa_required() and not _enrolled(user)


def _attempt(session: Session, user: User | None, username: str, address: str
             ) -> list[tuple[str, ratelimit.Rule]]:
    known = user is not None and ratelimit.is_known(session, user.id, address, _now())
    return ratelimit.keys(username, address, known)


def _password_step(session: Session, username: str, password: str, address: str,
                   action: str) -> User:
    """The account whose password this is, or NotAuthenticated(FAILED). Every refusal is
    audited with its true reason and the client address (ASVS V7.2.1)."""
    now = _now()
    user = session.scalar(select(User).where(User.username == username))
    attempt = _attempt(session, user, username, address)

    def refused(why: str, count: bool = True) -> NotAuthenticated:
        if count:
            ratelimit.failed(session, attempt, now)
        audit.record(session, None, action, "user", user.id if user else None,
                     outcome="denied", detail=f"{why}; address={address}")
        return NotAuthenticated(FAILED)

    waiting = ratelimit.blocked(session, attempt, now)
    if waiting:
        _burn(password)
        scopes = ", ".join(sorted({SCOPES[k.split(":", 1)[0]] for k in waiting}))
        raise refused(f"throttled ({scopes})", count=False)
    if user is None:
        _burn(password)
        raise refused(f"unknown username {username[:80]!r}")
    try:
        HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise refused("wrong password") from None
    if user.disabled:
        raise refused("account disabled")
    return user


def _second_step(session: Session, user: User, totp: str | None, recovery_code: str | None,
                 address: str, action: str) -> None:
    """An enrolled account's code: a TOTP code (each step once) or a recovery code (each
    once). A wrong code counts towards the throttle like a wrong password."""
    now = _now()

    def refused(why: str, message: str, field: str, count: bool = True) -> NotAuthenticated:
        if count:
            ratelimit.failed(session, attempt, now)
        audit.record(session, None, action, "user", user.id, outcome="denied",
                     detail=f"{why}; address={address}")
        return NotAuthenticated(message, field=field)

    attempt = _attempt(session, user, user.username, address)
    if not totp and not recovery_code:
        raise refused("second step missing",
                      "this account signs in in two steps: send totp (the 6-digit code of "
                      "the authenticator app) or recovery_code", "totp", count=False)
    field = "totp" if totp else "recovery_code"
    if ratelimit.blocked(session, attempt, now):
        raise refused("throttled (second step)", WRONG_CODE, field, count=False)
    if totp:
        step = mfa.code_step(user.totp_secret or "", totp, now)
        if step is None or not mfa.spend_step(session, user.id, step):
            raise refused("wrong or reused TOTP code", WRONG_CODE, field)
    elif not mfa.spend_recovery_code(session, user.id, recovery_code or "", now):
        raise refused("wrong or used recovery code", WRONG_CODE, field)
    else:
        audit.record(session, actor_of(user), "use_recovery_code", "user", user.id,
                     detail=f"{mfa.recovery_codes_left(session, user.id)} left; "
                     f"address={address}")


def _own_password(session: Session, user: User, address: str) -> None:
    if user.must_change_password:
        audit.record(session, None, "sign_in", "user", user.id, outcome="denied",
                     detail=f"password change required; address={address}")
        raise PasswordChangeRequired(
            "this password was set by an administrator and must be changed before signing "
            "in: choose a new one on the web sign-in page (/password) or with POST "
            "/api/v1/auth/password (username, current_password, new_password)")


def _issue(session: Session, user: User, address: str, purpose: str = "session") -> str:
    """A new token: a session, or (``mfa``, ``enrol``) the short-lived pending second step
    of a web sign-in. A session clears the throttle's count for this account here and
    marks this address as known to the account."""
    now = _now()
    token = secrets.token_urlsafe(32)
    life = (timedelta(hours=SETTINGS.token_hours) if purpose == "session"
            else timedelta(minutes=SETTINGS.pending_minutes))
    session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), created_at=now,
                         expires_at=now + life, revoked=False, purpose=purpose))
    if purpose == "session":
        ratelimit.succeeded(session, user.username, address)
        ratelimit.remember(session, user.id, address, now)
        audit.record(session, actor_of(user), "sign_in", "user", user.id,
                     detail=f"address={address}")
    return token


def _pending(session: Session, token: str, purpose: str) -> User:
    """The account of a pending web sign-in (its password step passed)."""
    row = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                          .where(ApiToken.token_hash == _hash_token(token))).first()
    if (row is None or row[0].revoked or row[0].purpose != purpose
            or _aware(row[0].expires_at) <= _now() or row[1].disabled):
        raise NotAuthenticated("this sign-in step expired; sign in again")
    return row[1]


@use_case(keep_on=(NotAuthenticated,))
def change_password(session: Session, username: str, current: str, new: str,
                    address: str = "unknown", totp: str | None = None,
                    recovery_code: str | None = None) -> User:
    """The user changes their own password, proving the current one (and the second step
    when enrolled), with the same throttle and audit as a sign-in. The new one must meet
    the policy and differ from the current one; the account's other sessions end."""
    user = _password_step(session, username, current, address, "change_password")
    if _enrolled(user):
        _second_step(session, user, totp, recovery_code, address, "change_password")
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


@use_case(keep_on=KEEP)
def sign_in(session: Session, username: str, password: str, address: str = "unknown",
            totp: str | None = None, recovery_code: str | None = None) -> tuple[str, User]:
    """The API's sign-in: password, then the second step when the account is enrolled (or
    a refusal that says where to enrol when it must be and is not); a bearer token."""
    user = _password_step(session, username, password, address, "sign_in")
    _own_password(session, user, address)
    if _enrolled(user):
        _second_step(session, user, totp, recovery_code, address, "sign_in")
    elif _must_enrol(user):
        audit.record(session, None, "sign_in", "user", user.id, outcome="denied",
                     detail=f"second step not set up; address={address}")
        raise SecondFactorSetupRequired(
            "this account must set up two-step sign-in (an authenticator app) before it can "
            "sign in: sign in once on the web sign-in page (/login), which leads to the "
            "set-up; then send totp with the password here")
    return _issue(session, user, address), user


@use_case(keep_on=KEEP)
def start_session(session: Session, username: str, password: str, address: str,
                  previous: str | None) -> tuple[str, User, str]:
    """The web's password step, ending the session this browser had (rotation). Returns
    the token and its stage: ``session``, or ``mfa`` (a code is due) or ``enrol`` (set-up
    is due), whose tokens open nothing but that step."""
    user = _password_step(session, username, password, address, "sign_in")
    _own_password(session, user, address)
    stage = "mfa" if _enrolled(user) else "enrol" if _must_enrol(user) else "session"
    token = _issue(session, user, address, stage)
    if previous:
        sign_out(session, previous)
    return token, user, stage


@use_case(keep_on=(NotAuthenticated,))
def finish_sign_in(session: Session, pending: str, code: str, address: str
                   ) -> tuple[str, User]:
    """The web's second step: six digits are a TOTP code, anything else a recovery code."""
    user = _pending(session, pending, "mfa")
    digits = code.replace(" ", "").strip()
    is_totp = len(digits) == 6 and is_digits(digits, 6)
    _second_step(session, user, digits if is_totp else None,
                 None if is_totp else code, address, "sign_in")
    sign_out(session, pending)
    return _issue(session, user, address), user


@use_case()
def enrolment(session: Session, pending: str) -> tuple[str, str, str]:
    """The set-up of a pending ``enrol`` sign-in: (username, secret, otpauth URI). The
    secret is made once and kept until a code confirms it."""
    user = _pending(session, pending, "enrol")
    if user.totp_secret is None:
        user.totp_secret = mfa.new_secret()
    return user.username, user.totp_secret, mfa.provisioning_uri(user.totp_secret,
                                                                  user.username)


@use_case(keep_on=(NotAuthenticated,))
def confirm_enrolment(session: Session, pending: str, code: str, address: str
                      ) -> tuple[str, User, list[str]]:
    """A first code proves the app holds the secret: the account is enrolled, gets its
    recovery codes (returned to be shown once) and a session."""
    user = _pending(session, pending, "enrol")
    now = _now()
    attempt = _attempt(session, user, user.username, address)
    step = None if ratelimit.blocked(session, attempt, now) else mfa.code_step(
        user.totp_secret or "", code, now)
    if step is None:
        ratelimit.failed(session, attempt, now)
        audit.record(session, None, "mfa_enrol", "user", user.id, outcome="denied",
                     detail=f"wrong code; address={address}")
        raise NotAuthenticated(WRONG_CODE, field="code")
    user.totp_enrolled_at = now
    user.totp_last_step = step
    codes = mfa.replace_recovery_codes(session, user.id, now)
    audit.record(session, actor_of(user), "mfa_enrol", "user", user.id,
                 detail=f"address={address}")
    sign_out(session, pending)
    return _issue(session, user, address), user, codes


@use_case(keep_on=(NotAuthenticated,))
def change_password_and_start_session(session: Session, username: str, current: str,
                                      new: str, address: str, previous: str | None,
                                      code: str = "") -> tuple[str, User, str]:
    """The web's password page: change the password (with the code when enrolled), then a
    session, or the pending set-up when the account must enrol."""
    digits = code.replace(" ", "").strip()
    is_totp = len(digits) == 6 and is_digits(digits, 6)
    user = change_password(session, username, current, new, address,
                           digits if is_totp else None, None if is_totp or not code else code)
    stage = "enrol" if _must_enrol(user) else "session"
    token = _issue(session, user, address, stage)
    if previous:
        sign_out(session, previous)
    return token, user, stage


@use_case()
def admin_set_password(session: Session, actor: Actor, username: str, password: str,
                       reset_second_factor: bool = False) -> None:
    """An administrator of the same clinic resets a password (to be changed at the next
    sign-in), and optionally the second factor (the user enrols again)."""
    if actor.role != "admin":
        raise AccessDenied("only an administrator may reset a password", entity="user")
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFound(f"no user {username[:80]!r} in this clinic")
    set_password(session, username, password, by=f"administrator {actor.username}")
    if reset_second_factor:
        reset_mfa(session, username, by=f"administrator {actor.username}")


@use_case()
def reset_mfa(session: Session, username: str, by: str = "an administrator") -> User:
    """Remove an account's second factor (a lost phone): it enrols again at the next web
    sign-in when its role requires it. Its sessions end. Audited."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    mfa.forget(session, user)
    _revoke_tokens(session, user)
    audit.record(session, None, "reset_mfa", "user", user.id, detail=f"by {by}")
    return user


class _Account(Protocol):
    """What an Actor is made of: a User, or a row of ``TOKEN_LOOKUP``."""

    id: int
    clinic_id: int
    role: str
    username: str
    patient_id: int | None


def actor_of(user: _Account) -> Actor:
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
    """The account behind a bearer token, in one indexed query (this runs on every
    request). Nothing is cached: a token revoked or an account disabled through any server
    process is refused by every process from the next request on."""
    row, now, refresh = _live_token(session, _hash_token(token))
    if refresh:
        session.execute(update(ApiToken).where(ApiToken.id == row.token_id)
                        .values(last_used_at=now))
    return actor_of(row)


#: The token lookup of every request, built once: constructing a statement per request cost
#: about a tenth of a timeline GET (issue 16); a Core statement on the session's connection
#: skips the ORM's execution layer too. ``TOKEN_COLUMNS`` and ``TOKEN_JOIN`` let a hot read
#: fold the lookup into its own statement (``services.timeline.LEAN_LOOKUP``).
_USERS, _TOKENS = User.__table__, ApiToken.__table__
TOKEN_COLUMNS = (_USERS.c.id, _USERS.c.clinic_id, _USERS.c.role, _USERS.c.username,
                 _USERS.c.patient_id, _USERS.c.disabled, _TOKENS.c.id.label("token_id"),
                 _TOKENS.c.revoked, _TOKENS.c.expires_at, _TOKENS.c.created_at,
                 _TOKENS.c.last_used_at, _TOKENS.c.purpose)
TOKEN_JOIN = _USERS.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
TOKEN_DIGEST = _TOKENS.c.token_hash
TOKEN_LOOKUP = (
    select(*TOKEN_COLUMNS).select_from(TOKEN_JOIN).where(bindparam("digest") == TOKEN_DIGEST)
)


def token_digest(token: str) -> str:
    """What the store keeps of a bearer token (its SHA-256), to look the token up by."""
    return _hash_token(token)


def actor_without_writing(session: Session, token: str) -> Actor | None:
    """The account behind a bearer token, when looking it up writes nothing (its last use
    was recorded within the minute), in the caller's open transaction and without a commit
    of its own: a GET then runs one transaction, not two. ``None`` when the lookup must
    record the use: call ``actor_for_token`` then. Unknown, expired, idle, revoked and
    disabled tokens raise as there."""
    row, _, refresh = _live_token(session, _hash_token(token))
    return None if refresh else actor_of(row)


def quietly_usable(row: Any) -> bool:
    """Whether the token of a ``TOKEN_COLUMNS`` row read elsewhere is usable now and its
    use needs no recording; when not, the caller takes the full path, which refuses the
    token, or records its use, as ``actor_for_token`` does."""
    if row is None or row.id is None:
        return False
    try:
        return not _usable(row, _now())
    except NotAuthenticated:
        return False


def _live_token(session: Session, digest: str) -> tuple[Any, datetime, bool]:
    """The row of a usable token (``TOKEN_LOOKUP``), the time now, and whether its use must
    be recorded (at most once a minute); raises NotAuthenticated for any other token."""
    row = session.connection().execute(TOKEN_LOOKUP, {"digest": digest}).first()
    now = _now()
    return row, now, _usable(row, now)


def _usable(row: Any, now: datetime) -> bool:
    """Whether the use of the token of ``row`` (a ``TOKEN_COLUMNS`` row, or None) must be
    recorded now; raises NotAuthenticated for an unknown, expired, idle, revoked or
    disabled token, or one issued for another purpose."""
    if (row is None or row.revoked or row.purpose != "session"
            or _aware(row.expires_at) <= now):
        raise NotAuthenticated("the bearer token is unknown, expired or revoked")
    last = _aware(row.last_used_at or row.created_at)
    if now - last > timedelta(minutes=SETTINGS.idle_minutes):
        raise NotAuthenticated(f"the session ended after {SETTINGS.idle_minutes} minutes "
                               "without use; sign in again")
    if row.disabled:
        raise NotAuthenticated("this account is disabled")
    return now - last > timedelta(minutes=1)


@use_case()
def sign_out(session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is not None:
        row.revoked = True
