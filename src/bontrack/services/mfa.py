"""The second sign-in factor: TOTP (RFC 6238, via pyotp) and single-use recovery codes.

A TOTP code is accepted for the current 30-second step and one step either side (clock
drift, RFC 6238 section 5.2), and never twice: the step of the last accepted code is kept
and only a later step passes (section 5.2, "MUST NOT accept the second attempt"). Recovery
codes carry 80 random bits each, are shown once, kept as SHA-256 and spent on use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bontrack.numerals import is_digits
from bontrack.store.models import RecoveryCode, User

ISSUER = "bontrack"
STEP_SECONDS = 30
RECOVERY_CODES = 10


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (RFC 4226 section 4 recommends 160)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no script, no style: it runs under the page CSP)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000",
                                                     light="#fff"))


def current_code(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at ``at`` (tests, and nothing else, use it)."""
    return str(pyotp.TOTP(secret).at(at))


def code_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step ``code`` belongs to (now or one either side), else None."""
    digits = code.replace(" ", "").strip()
    if len(digits) != 6 or not is_digits(digits, 6):
        return None
    totp = pyotp.TOTP(secret)
    now = int(at.timestamp()) // STEP_SECONDS
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def spend_step(session: Session, user_id: int, step: int) -> bool:
    """Record ``step`` as used, atomically: False when it (or a later one) was used already,
    so a code replayed, even in parallel, is refused."""
    done = session.execute(
        update(User).where(User.id == user_id,
                           (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    return bool(getattr(done, "rowcount", 0) == 1)


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def replace_recovery_codes(session: Session, user_id: int, now: datetime) -> list[str]:
    """New recovery codes for ``user_id`` (the old ones stop working); shown this once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id)
                    .execution_options(synchronize_session=False))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
        codes.append(code)
        session.add(RecoveryCode(user_id=user_id, code_hash=_hash(code), created_at=now))
    return codes


def spend_recovery_code(session: Session, user_id: int, code: str, now: datetime) -> bool:
    """Use up the matching unused code of ``user_id``; False if there is none."""
    if len(_normal(code)) != 16:
        return False
    row = session.scalar(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _hash(code),
        RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    done = session.execute(update(RecoveryCode).where(
        RecoveryCode.id == row, RecoveryCode.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False))
    return bool(getattr(done, "rowcount", 0) == 1)


def recovery_codes_left(session: Session, user_id: int) -> int:
    return len(session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))).all())


def forget(session: Session, user: User) -> None:
    """Remove the second factor (an administrator's reset: the user enrols again)."""
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id)
                    .execution_options(synchronize_session=False))
