"""SQLAlchemy 2 models of the clinical record.

The schema itself comes from the Alembic migrations (``store/migrations``); a test proves the
models and the migrations agree. Clinical rows are never deleted: they carry a ``status``
(``entered_in_error`` instead of a delete), signed cycles keep every earlier version in
``cycle_revisions``, and ``audit_events`` is append-only (database triggers refuse UPDATE and
DELETE on it). Units are NUMERIC, never float.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bontrack.store.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UNITS = Numeric(12, 3)
ROLES = ("admin", "clinician", "nurse", "patient")
RECORD_STATUS = ("active", "entered_in_error")
CYCLE_STATUS = ("draft", "signed", "entered_in_error")
VISIT_STATUS = ("booked", "cancelled", "replaced")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Clinic(Base):
    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: Set when an administrator sets the password (``users add``, ``users set-password``):
    #: the user must choose a new one before any session is issued.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())
    #: TOTP (RFC 6238): the shared secret (base32), set when enrolment starts; the account
    #: is enrolled once a first code confirmed it (``totp_enrolled_at``). ``totp_last_step``
    #: is the time step of the last code accepted: a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RecoveryCode(Base):
    """A single-use MFA recovery code, stored as its SHA-256 (the codes carry 80 random
    bits, so a fast hash suffices, as for bearer tokens)."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class CdsTokenId(Base):
    """The ``jti`` of every CDS Hooks JWT accepted (``services/cds_clients.py``), kept until
    the token expires: a token sent twice is refused as a replay. In the database so that
    every worker process sees the same ids."""

    __tablename__ = "cds_token_ids"
    issuer: Mapped[str] = mapped_column(String(300), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class SignInThrottle(Base):
    """Failed sign-ins counted per key (``services/ratelimit.py``): a username and an
    address together, an address, or a username as seen from addresses it never signed in
    from. In the database so that every worker process sees the same counts."""

    __tablename__ = "sign_in_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class KnownAddress(Base):
    """An address an account signed in from successfully: the per-account throttle does
    not apply there, so an attacker elsewhere cannot lock the real user out."""

    __tablename__ = "known_sign_in_addresses"
    __table_args__ = (UniqueConstraint("user_id", "address", name="uq_known_address"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    address: Mapped[str] = mapped_column(String(64))
    last_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``session``: a signed-in session. ``mfa`` / ``enrol``: the password step of a web
    #: sign-in passed and the second step (a code, or enrolment) is due; such a token is
    #: short-lived and opens nothing else.
    purpose: Mapped[str] = mapped_column(String(10), default="session",
                                         server_default="session")
    #: Last use (refreshed at most once a minute): sessions end after an idle period.
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(),
                                                          nullable=True)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("clinic_id", "mrn", name="uq_patients_clinic_mrn"),
        CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name="sex"),
        CheckConstraint(f"status IN {RECORD_STATUS}", name="status"),
        # the analytics refresh finds the clinic's changed records from this index alone
        Index("ix_patients_clinic_version", "clinic_id", "id", "record_version"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    #: The name in parts, as an EHR holds it (FHIR ``name.family`` / ``name.given``, issue
    #: 18 item 4): optional, never derived from ``display_name`` (which lists and pages
    #: show); patients recorded before migration 0023 have none.
    family_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    given_names: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    medications: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Every UPDATE of a versioned record says ``WHERE version = <the version read>``: with
    #: no lock around the transaction, a write based on a stale read fails (StaleDataError,
    #: answered 412) instead of overwriting the other (services keep ``version += 1``).
    __mapper_args__ = {"version_id_col": version,  # noqa: RUF012
                       "version_id_generator": False}
    #: Bumped by every write to any part of this patient's record (see services.audit):
    #: a cheap test of whether a cached view of the record is still current.
    record_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    weights: Mapped[list[Weight]] = relationship(order_by="Weight.measured_on")


class Weight(Base):
    __tablename__ = "weights"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    measured_on: Mapped[date] = mapped_column(Date)
    weight_kg: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Condition(Base):
    __tablename__ = "conditions"
    __table_args__ = (CheckConstraint(f"status IN {RECORD_STATUS}", name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    indication: Mapped[str] = mapped_column(String(64))
    icd10cm: Mapped[str | None] = mapped_column(String(10), nullable=True)
    affected_side: Mapped[str | None] = mapped_column(String(10), nullable=True)
    onset_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: bumped by each change (services.conditions); server default: imports leave it
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    #: the last change; NULL while the condition is as created (FHIR meta.lastUpdated)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Cycle(Base):
    """One treatment session. ``status`` draft → signed (locked) → amended versions kept in
    ``cycle_revisions``; ``entered_in_error`` instead of deletion."""

    __tablename__ = "cycles"
    __table_args__ = (
        CheckConstraint(f"status IN {CYCLE_STATUS}", name="status"),
        Index("ix_cycles_patient_date", "patient_id", "date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    product: Mapped[str] = mapped_column(String(40))
    indication: Mapped[str] = mapped_column(String(64))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), nullable=True)
    total_units: Mapped[Decimal] = mapped_column(UNITS)
    consent_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_text: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    #: what another system said about an imported cycle (who signed or overrode there, the
    #: verdict and total it claimed), one line each: text, never a local signature
    provenance: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    verdict: Mapped[str] = mapped_column(String(10))
    reference_version: Mapped[str] = mapped_column(String(40))
    next_earliest_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version,  # noqa: RUF012
                       "version_id_generator": False}
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    injections: Mapped[list[Injection]] = relationship(
        order_by="Injection.id", cascade="all, delete-orphan"
    )
    vials: Mapped[list[Vial]] = relationship(order_by="Vial.id", cascade="all, delete-orphan")
    findings: Mapped[list[CycleFinding]] = relationship(
        order_by="CycleFinding.id", cascade="all, delete-orphan"
    )
    overrides: Mapped[list[Override]] = relationship(order_by="Override.id")
    revisions: Mapped[list[CycleRevision]] = relationship(order_by="CycleRevision.id")


class Injection(Base):
    __tablename__ = "injections"
    __table_args__ = (CheckConstraint("side IN ('left', 'right', 'midline')", name="side"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    muscle: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(10))
    units: Mapped[Decimal] = mapped_column(UNITS)
    sites: Mapped[int] = mapped_column(Integer)
    volume_ml: Mapped[Decimal | None] = mapped_column(Numeric(8, 3), nullable=True)
    guidance: Mapped[str | None] = mapped_column(String(20), nullable=True)


class Vial(Base):
    __tablename__ = "vials"
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    size_units: Mapped[Decimal] = mapped_column(UNITS)
    diluent_ml: Mapped[Decimal | None] = mapped_column(Numeric(8, 3), nullable=True)
    lot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expiry: Mapped[date | None] = mapped_column(Date, nullable=True)
    reconstituted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    units_discarded: Mapped[Decimal | None] = mapped_column(UNITS, nullable=True)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class CycleFinding(Base):
    """The plan-check findings stored with the cycle, as they were when it was checked."""

    __tablename__ = "cycle_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), nullable=True)
    limit: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), nullable=True)
    unit: Mapped[str | None] = mapped_column(String(30), nullable=True)
    muscle: Mapped[str | None] = mapped_column(String(64), nullable=True)
    side: Mapped[str | None] = mapped_column(String(10), nullable=True)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)


class Override(Base):
    """A clinician's written reason to proceed despite a stop finding."""

    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CycleRevision(Base):
    """The state of a cycle before each change (amendments keep history)."""

    __tablename__ = "cycle_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(Text)


class Withdrawable:
    """Who marked a record entered in error, when and why (never deleted; issue 15).
    ``error_by`` is a user id without a foreign key (migration 0010 says why)."""

    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Outcome(Withdrawable, Base):
    __tablename__ = "outcomes"
    __table_args__ = (
        CheckConstraint(f"status IN {RECORD_STATUS}", name="status"),
        Index("ix_outcomes_patient_time", "patient_id", "measured_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), nullable=True)
    scale: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    value_text: Mapped[str] = mapped_column(String(20))
    muscle: Mapped[str | None] = mapped_column(String(64), nullable=True)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    side: Mapped[str | None] = mapped_column(String(10), nullable=True)
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    #: when the outcome was written here (NULL for rows from before migration 0019 and demo
    #: rows): its FHIR meta.lastUpdated until withdrawn, so a Bulk ``_since`` export finds
    #: an outcome entered after it even when measured before it
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: server default only: bulk inserts (import, demo) leave it to the database
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    __mapper_args__ = {"version_id_col": version,  # noqa: RUF012
                       "version_id_generator": False}


class Goal(Withdrawable, Base):
    __tablename__ = "goals"
    __table_args__ = (CheckConstraint(f"status IN {RECORD_STATUS}", name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    target_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    attainment: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version,  # noqa: RUF012
                       "version_id_generator": False}
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: the last change (scored, entered in error); NULL while as created
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class SideEffect(Withdrawable, Base):
    __tablename__ = "side_effects"
    __table_args__ = (
        CheckConstraint(f"status IN {RECORD_STATUS}", name="status"),
        CheckConstraint("severity IN ('mild', 'moderate', 'severe')", name="severity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), nullable=True,
                                                 index=True)
    term: Mapped[str] = mapped_column(String(200))
    onset: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(10))
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(40), default="unknown")
    relatedness: Mapped[str] = mapped_column(String(40), default="unknown")
    red_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: the triage of the term (services/triage.py): urgent, unclear or not_urgent, and the
    #: full result (flags, matched words, advice, reference version)
    triage_level: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reported_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20), default="active")
    #: server default only: bulk inserts (import, demo) leave it to the database
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    __mapper_args__ = {"version_id_col": version,  # noqa: RUF012
                       "version_id_generator": False}


class DiaryEntry(Withdrawable, Base):
    __tablename__ = "diary_entries"
    __table_args__ = (CheckConstraint(f"status IN {RECORD_STATUS}", name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    entry_date: Mapped[date] = mapped_column(Date)
    spasm_frequency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    spasm_intensity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pain: Mapped[int | None] = mapped_column(Integer, nullable=True)
    side_effects: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    #: the triage of what the patient wrote (side effects and note), as for side effects
    red_flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    triage_level: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20), default="active")
    #: server default only: bulk inserts (import, demo) leave it to the database
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    __mapper_args__ = {"version_id_col": version,  # noqa: RUF012
                       "version_id_generator": False}


class Visit(Base):
    """A booked next visit (issue 17): a date and a clinician of the clinic. Never deleted:
    a cancelled booking keeps its row (``cancelled``, who, when, why); a rescheduled one is
    ``replaced`` by a new row (``replaces_id``) with the same calendar ``uid`` and the next
    ``sequence``, so the history of a booking is its chain of rows. The earliest safe date
    the booking was checked against, its source, and any override reason are kept."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint(f"status IN {VISIT_STATUS}", name="status"),
        Index("ix_visits_clinic_status_date", "clinic_id", "status", "visit_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    visit_date: Mapped[date] = mapped_column(Date)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="booked")
    #: the earliest safe date the booking was checked against, and where it comes from
    earliest_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    earliest_source: Mapped[str] = mapped_column(Text, default="")
    #: why a clinician booked before the earliest safe date (None when not before it)
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    #: the calendar event's UID (kept across reschedules) and its SEQUENCE (RFC 5545)
    uid: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    replaces_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: who ended the booking (cancelled or replaced), when and why
    ended_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


VIAL_LOG_STATUS = ("open", "closed", "entered_in_error")


class ClinicVial(Withdrawable, Base):
    """A vial in the clinic's vial log (issue 17 item 9): reconstituted once, drawn from for
    several patients' cycles within the label's hours. Closed when the rest is discarded
    (``units_discarded``: the JW modifier's amount; zero is JZ). Never deleted."""

    __tablename__ = "clinic_vials"
    __table_args__ = (
        CheckConstraint(f"status IN {VIAL_LOG_STATUS}", name="status"),
        Index("ix_clinic_vials_clinic_status", "clinic_id", "status"),
        Index("ix_clinic_vials_lot", "lot"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    product: Mapped[str] = mapped_column(String(40))
    size_units: Mapped[Decimal] = mapped_column(UNITS)
    diluent_ml: Mapped[Decimal | None] = mapped_column(Numeric(8, 3), nullable=True)
    lot: Mapped[str] = mapped_column(String(64))
    expiry: Mapped[date] = mapped_column(Date)
    reconstituted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reconstituted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    units_discarded: Mapped[Decimal | None] = mapped_column(UNITS, nullable=True)
    closed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version,  # noqa: RUF012
                       "version_id_generator": False}


class VialDraw(Withdrawable, Base):
    """Units drawn from a clinic vial into one patient's cycle; a wrong draw is marked
    ``entered_in_error`` with a reason (its units return to the vial's remaining units)."""

    __tablename__ = "vial_draws"
    __table_args__ = (CheckConstraint(f"status IN {RECORD_STATUS}", name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    vial_id: Mapped[int] = mapped_column(ForeignKey("clinic_vials.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    units: Mapped[Decimal] = mapped_column(UNITS)
    drawn_at: Mapped[datetime] = mapped_column(UtcDateTime())
    drawn_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the use-within check as made at the draw: "ok", "overridden" or "not_checked"
    #: (the product has no cited use-within time), with the words shown
    time_check: Mapped[str] = mapped_column(String(20))
    time_check_text: Mapped[str] = mapped_column(Text, default="")
    #: a clinician's reason to draw despite a stop (expired, past the label's hours)
    override_codes: Mapped[str] = mapped_column(String(200), default="")
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version,  # noqa: RUF012
                       "version_id_generator": False}


class AuditEvent(Base):
    """Append-only: who did what to which patient's data, when, and how it ended."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_patient_at", "patient_id", "at"),
        Index("ix_audit_events_chain_seq", "chain_seq", unique=True),
        Index("ix_audit_events_unchained", "id", postgresql_where=text("chain_seq IS NULL"),
              sqlite_where=text("chain_seq IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    patient_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    #: Hash chain: each event's hash covers its fields and the previous event's hash, so an
    #: edit or a deletion made directly in the database breaks the chain (audit verify).
    #: Events are inserted unchained (``chain_seq`` NULL, empty hashes) by the request's own
    #: transaction; the chainer (``store.audit_chain.chain_pending``) fills the three once.
    prev_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# -- analytics: derived rows, rebuilt from the record (never entered by anyone) ----------------


class AnalyticsVersion(Base):
    """The patient's ``record_version`` the derived analytics rows were computed from: rows
    of a patient whose record has changed since are recomputed before a clinic query."""

    __tablename__ = "analytics_versions"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    clinic_id: Mapped[int] = mapped_column(Integer)
    record_version: Mapped[int] = mapped_column(Integer)


class AnalyticsCycle(Base):
    """One live cycle with the days since the patient's previous cycle of the indication."""

    __tablename__ = "analytics_cycles"
    __table_args__ = (Index("ix_analytics_cycles_clinic_date", "clinic_id", "date"),)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    patient_id: Mapped[int] = mapped_column(Integer, index=True)
    clinic_id: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    product: Mapped[str] = mapped_column(String(40))
    indication: Mapped[str] = mapped_column(String(64))
    clinician_id: Mapped[int] = mapped_column(Integer)
    interval_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Given before the earliest safe date stored with the previous cycle.
    early: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: The cycle's vials: units discarded (None when none was recorded), opened, count.
    units_discarded: Mapped[Decimal | None] = mapped_column(UNITS, nullable=True)
    units_opened: Mapped[Decimal] = mapped_column(UNITS, default=0)
    vials: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsResponse(Base):
    """The response of one cycle in one outcome series (clinical.response)."""

    __tablename__ = "analytics_responses"
    __table_args__ = (Index("ix_analytics_responses_clinic_date", "clinic_id", "date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    patient_id: Mapped[int] = mapped_column(Integer, index=True)
    clinic_id: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    product: Mapped[str] = mapped_column(String(40))
    indication: Mapped[str] = mapped_column(String(64))
    clinician_id: Mapped[int] = mapped_column(Integer)
    scale: Mapped[str] = mapped_column(String(40))
    site: Mapped[str] = mapped_column(String(80), default="")
    responder: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    improvement: Mapped[Decimal | None] = mapped_column(Numeric(10, 3), nullable=True)
    duration_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_kind: Mapped[str] = mapped_column(String(12))


class AnalyticsEffect(Base):
    """One side-effect term reported for one live cycle (once per cycle and term)."""

    __tablename__ = "analytics_effects"
    __table_args__ = (Index("ix_analytics_effects_clinic_date", "clinic_id", "date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    patient_id: Mapped[int] = mapped_column(Integer, index=True)
    clinic_id: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    product: Mapped[str] = mapped_column(String(40))
    indication: Mapped[str] = mapped_column(String(64))
    clinician_id: Mapped[int] = mapped_column(Integer)
    term: Mapped[str] = mapped_column(String(200))


# Daily roll-ups of the rows above: one row per clinic, day, indication, product, clinician
# (and the figure's own key), with counts. Clinic queries read these (a few rows a day
# instead of one per cycle); the days a refresh touched are recomputed from the rows above.
# The cx_ indexes cover their query (issue 16): every filter, group and measure column is in
# the index, led by the GROUP BY columns, so a clinic query reads the index alone, in group
# order, without visiting the table or sorting (migration 0014).


class _Daily:
    clinic_id: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    indication: Mapped[str] = mapped_column(String(64))
    product: Mapped[str] = mapped_column(String(40))
    clinician_id: Mapped[int] = mapped_column(Integer)


class DailyCycles(_Daily, Base):
    __tablename__ = "analytics_daily_cycles"
    __table_args__ = (Index("ix_analytics_daily_cycles_clinic_date", "clinic_id", "date"),
                      Index("cx_analytics_daily_cycles_groups",
                            "clinic_id", "indication", "product", "date", "clinician_id",
                            "cycles"),
                      Index("cx_analytics_daily_cycles_waste",
                            "clinic_id", "product", "date", "indication", "clinician_id",
                            "vials", "units_discarded", "units_opened"))
    id: Mapped[int] = mapped_column(primary_key=True)
    cycles: Mapped[int] = mapped_column(Integer)
    units_discarded: Mapped[Decimal | None] = mapped_column(UNITS, nullable=True)
    units_opened: Mapped[Decimal | None] = mapped_column(UNITS, nullable=True)
    vials: Mapped[int] = mapped_column(Integer)


class DailyResponses(_Daily, Base):
    __tablename__ = "analytics_daily_responses"
    __table_args__ = (Index("ix_analytics_daily_responses_clinic_date", "clinic_id", "date"),
                      Index("cx_analytics_daily_responses_durations",
                            "clinic_id", "indication", "product", "duration_days",
                            "duration_kind", "date", "clinician_id", "n"))
    id: Mapped[int] = mapped_column(primary_key=True)
    scale: Mapped[str] = mapped_column(String(40))
    responder: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    duration_kind: Mapped[str] = mapped_column(String(12))
    duration_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    n: Mapped[int] = mapped_column(Integer)


class DailyResponders(_Daily, Base):
    """The responder counts alone (no duration columns): a quarter of the rows of
    ``analytics_daily_responses``, which the responder query read before (issue 16)."""
    __tablename__ = "analytics_daily_responders"
    __table_args__ = (Index("ix_analytics_daily_responders_clinic_date", "clinic_id", "date"),
                      Index("cx_analytics_daily_responders",
                            "clinic_id", "indication", "product", "scale", "responder", "date",
                            "clinician_id", "n"))
    id: Mapped[int] = mapped_column(primary_key=True)
    scale: Mapped[str] = mapped_column(String(40))
    responder: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    n: Mapped[int] = mapped_column(Integer)


class DailyIntervals(_Daily, Base):
    __tablename__ = "analytics_daily_intervals"
    __table_args__ = (Index("ix_analytics_daily_intervals_clinic_date", "clinic_id", "date"),
                      Index("cx_analytics_daily_intervals",
                            "clinic_id", "indication", "interval_days", "early", "date",
                            "clinician_id", "product", "n"))
    id: Mapped[int] = mapped_column(primary_key=True)
    interval_days: Mapped[int] = mapped_column(Integer)
    early: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    n: Mapped[int] = mapped_column(Integer)


class DailyEffects(_Daily, Base):
    __tablename__ = "analytics_daily_effects"
    __table_args__ = (Index("ix_analytics_daily_effects_clinic_date", "clinic_id", "date"),
                      Index("cx_analytics_daily_effects",
                            "clinic_id", "indication", "product", "term", "date", "clinician_id",
                            "n"))
    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(200))
    n: Mapped[int] = mapped_column(Integer)


class Job(Base):
    """A long job (a Bulk Data export) queued in the database, so that any server process
    answers for it and a worker process anywhere runs it (``store/jobs.py``).

    ``state``: queued, running, complete, failed or cancelled. A running job holds a lease
    (``lease_until``) its worker renews as it goes; a job whose lease ran out lost its
    worker and is claimed again (``attempts`` counts the claims)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_lease", "state", "lease_until"),)
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(12))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(80), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True,
                                                      index=True)


CYCLE_DIARY_STATUS = ("active", "amended", "entered_in_error")


class CycleDiary(Withdrawable, Base):
    """The patient's answers about one signed cycle (issue 17 item 6): when it started
    working (``onset``: date, not_yet, no_effect), when it wore off (``wore_off``: date,
    not_yet), symptoms as in the diary (triaged), and the global impression of change
    (the ``pgic`` number, 1 to 7). Never deleted: an amended answer keeps its row
    (``amended``, with ``replaced_by``) and the new one points back (``replaces_id``);
    a wrong one is ``entered_in_error``. At most one ``active`` row per cycle."""

    __tablename__ = "cycle_diaries"
    __table_args__ = (
        CheckConstraint(f"status IN {CYCLE_DIARY_STATUS}", name="status"),
        Index("ix_cycle_diaries_cycle_status", "cycle_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    onset: Mapped[str] = mapped_column(String(12))
    onset_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    wore_off: Mapped[str] = mapped_column(String(12))
    wore_off_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    spasm_frequency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    spasm_intensity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pain: Mapped[int | None] = mapped_column(Integer, nullable=True)
    global_impression: Mapped[int | None] = mapped_column(Integer, nullable=True)
    side_effects: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    red_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    triage_level: Mapped[str | None] = mapped_column(String(12), nullable=True)
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    replaces_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    replaced_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(20), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)


class ImportLink(Base):
    """Which record an imported FHIR resource became (docs/fhir.md, "Import"): a re-import
    of the same resource (same identifier, else the same type and id) into the same
    patient finds it here and is not written twice. ``identity`` is
    ``Type|system|value`` of the resource's first identifier, else ``Type/id``; scoped to
    the patient, so another source's ``Observation/1`` of another patient never matches."""

    __tablename__ = "import_links"
    __table_args__ = (UniqueConstraint("patient_id", "identity",
                                       name="uq_import_links_patient_identity"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    identity: Mapped[str] = mapped_column(String(400))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
