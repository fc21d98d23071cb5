"""Settings as data: where the database lives, how the server listens."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platformdirs import user_config_dir, user_data_dir

from bontrack.errors import SettingError
from bontrack.numerals import is_digits

ENV_DB = "DATABASE_URL"
ENV_EXPORTS = "BONTRACK_EXPORT_DIR"


def default_database_path() -> Path:
    """SQLite in the user's data directory. Nothing is created here: only the commands that
    create a database (``store.database.open_creating``) make the folder and the file."""
    return Path(user_data_dir("bontrack", appauthor=False)) / "bontrack.db"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


def export_directory() -> Path:
    """Where Bulk Data $export files are written: BONTRACK_EXPORT_DIR, else the user data
    directory."""
    raw = os.environ.get(ENV_EXPORTS)
    return Path(raw) if raw else Path(user_data_dir("bontrack", appauthor=False)) / "exports"


#: ``dialect[+driver]://`` starts a SQLAlchemy URL; anything else is a file path.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def database_url(explicit: str | None = None) -> str:
    """--db, else DATABASE_URL, else the SQLite default, as a SQLAlchemy URL.

    Each may be a SQLAlchemy URL or a plain file path (relative to the working directory,
    ``~`` expanded), which means a SQLite file. ``postgresql://`` means psycopg 3."""
    raw = (explicit or os.environ.get(ENV_DB) or "").strip()
    if not raw:
        return default_database_url()
    if not _URL.match(raw):
        return f"sqlite:///{Path(raw).expanduser().absolute()}"
    url = raw
    if url.startswith("sqlite:///") and url[len("sqlite:///"):].startswith("~"):
        url = f"sqlite:///{Path(url[len('sqlite:///'):]).expanduser()}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    token_hours: int = 12  # absolute session lifetime
    idle_minutes: int = 30  # a session unused this long ends
    pending_minutes: int = 10  # the web sign-in's second step (a code, or enrolment)


# -- sign-in (issue 15 item 7): proxies, MFA -------------------------------------------------

ENV_TRUSTED_PROXIES = "BONTRACK_TRUSTED_PROXIES"
ENV_MFA_REQUIRED = "BONTRACK_MFA_REQUIRED"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies() -> tuple[IPNetwork, ...]:
    """The reverse proxies whose ``X-Forwarded-For`` is believed: BONTRACK_TRUSTED_PROXIES,
    addresses or networks separated by commas (``127.0.0.1, 10.0.0.0/8``). Default none:
    the client address is the socket peer."""
    raw = os.environ.get(ENV_TRUSTED_PROXIES, "").strip()
    out = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingError(f"{ENV_TRUSTED_PROXIES}: {part!r} is not an IP address or "
                             "network") from None
    return tuple(out)


def mfa_required() -> bool:
    """Whether admins and clinicians must use a second factor (TOTP) to sign in:
    BONTRACK_MFA_REQUIRED, on unless set to 0/false/no/off (``bontrack demo`` turns it off
    for the server it starts; docs/security.md says why and what that risks)."""
    raw = os.environ.get(ENV_MFA_REQUIRED, "").strip().lower()
    if raw in ("", "1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{ENV_MFA_REQUIRED}={raw!r}: expected on or off (1/0, true/false)")


# -- plausible dates (issue 15): every date and time a person enters has a range -----------

ENV_EARLIEST = "BONTRACK_EARLIEST_DATE"
ENV_MAX_AGE = "BONTRACK_MAX_AGE_YEARS"
ENV_EVENT_AHEAD = "BONTRACK_EVENT_AHEAD_HOURS"
ENV_PLAN_AHEAD = "BONTRACK_PLAN_AHEAD_DAYS"


@dataclass(frozen=True)
class DateLimits:
    """The range a date or time must fall in (docs/api.md, "Dates and times").

    ``earliest``: no event, birth or plan before it. ``max_age_years``: a birth date is at
    most this many years ago. ``event_ahead_hours``: how far a measurement, onset, diary or
    weight may lie after now (a clock a little fast; the day in UTC+14 is tomorrow in UTC).
    ``plan_ahead_days``: how far a planned cycle, a goal's target or a vial's expiry may lie
    ahead."""

    earliest: date = date(1900, 1, 1)
    max_age_years: int = 130
    event_ahead_hours: int = 15
    plan_ahead_days: int = 3653


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not is_digits(raw, 18) or not low <= int(raw) <= high:
        raise SettingError(f"{name}={raw!r}: expected a whole number from {low} to {high}")
    return int(raw)


def date_limits() -> DateLimits:
    """The limits from the environment, read at each check (so a test or an operator can
    change them without a restart of the code that imported them)."""
    d = DateLimits()
    raw = os.environ.get(ENV_EARLIEST, "").strip()
    try:
        earliest = date.fromisoformat(raw) if raw else d.earliest
    except ValueError:
        raise SettingError(f"{ENV_EARLIEST}={raw!r}: expected a date YYYY-MM-DD") from None
    return DateLimits(
        earliest=earliest,
        max_age_years=_env_int(ENV_MAX_AGE, d.max_age_years, 1, 200),
        event_ahead_hours=_env_int(ENV_EVENT_AHEAD, d.event_ahead_hours, 0, 24 * 366),
        plan_ahead_days=_env_int(ENV_PLAN_AHEAD, d.plan_ahead_days, 0, 36_600),
    )


# -- anchored audit (issue 15): the signing key and the checkpoints live outside the database --

ENV_AUDIT_KEY = "BONTRACK_AUDIT_KEY"
ENV_AUDIT_CHECKPOINTS = "BONTRACK_AUDIT_CHECKPOINTS"


def audit_key_path() -> Path:
    """The Ed25519 key that signs audit checkpoints: BONTRACK_AUDIT_KEY, else
    ``audit-signing.key`` in the user's configuration directory (not beside the database)."""
    raw = os.environ.get(ENV_AUDIT_KEY, "").strip()
    if raw:
        return Path(raw).expanduser()
    return Path(user_config_dir("bontrack", appauthor=False)) / "audit-signing.key"


def audit_checkpoint_path() -> Path | None:
    """The append-only file of signed checkpoints (BONTRACK_AUDIT_CHECKPOINTS); None when no
    location is named: one file belongs to one database, so there is no shared default."""
    raw = os.environ.get(ENV_AUDIT_CHECKPOINTS, "").strip()
    return Path(raw).expanduser() if raw else None


# -- Bulk Data $export files (issue 15): private, and removed after a retention period --------

ENV_EXPORT_RETENTION = "BONTRACK_EXPORT_RETENTION_HOURS"


def export_retention_hours() -> int:
    """How long a finished export's files are kept (BONTRACK_EXPORT_RETENTION_HOURS, default
    24, 1 to 8760): after that a sweep, run when an export is started or polled, removes
    them. Read at each sweep, like the date limits."""
    return _env_int(ENV_EXPORT_RETENTION, 24, 1, 24 * 365)


# -- FHIR import limits (issue 15: a 75 MB file used 570 MB and did not finish) -------------
ENV_IMPORT_MAX_MB = "BONTRACK_IMPORT_MAX_MB"
ENV_IMPORT_BUNDLE_MAX_MB = "BONTRACK_IMPORT_BUNDLE_MAX_MB"


@dataclass(frozen=True)
class ImportLimits:
    """``max_bytes``: the largest input (a file, or a directory's files together) an import
    reads; NDJSON is streamed line by line. ``bundle_max_bytes``: the largest single JSON
    Bundle, which is parsed whole (split a larger one into NDJSON)."""

    max_bytes: int
    bundle_max_bytes: int


def import_limits() -> ImportLimits:
    """From the environment (megabytes): BONTRACK_IMPORT_MAX_MB (default 200) and
    BONTRACK_IMPORT_BUNDLE_MAX_MB (default 20)."""
    mb = 1024 * 1024
    return ImportLimits(_env_int(ENV_IMPORT_MAX_MB, 200, 1, 100_000) * mb,
                        _env_int(ENV_IMPORT_BUNDLE_MAX_MB, 20, 1, 10_000) * mb)


# -- the server database's connection pool (issue 16) ----------------------------------------

ENV_DB_POOL_SIZE = "BONTRACK_DB_POOL_SIZE"
ENV_DB_MAX_OVERFLOW = "BONTRACK_DB_MAX_OVERFLOW"


@dataclass(frozen=True)
class PoolSize:
    """Connections a process keeps open to PostgreSQL (``size``) and opens beyond them at a
    peak (``overflow``, closed again when returned). SQLAlchemy's default of 5 kept fewer
    than a busy server's requests in flight, so every request past the fifth opened and
    closed a connection of its own: the timeline on PostgreSQL went from about 200 to 275-580
    req/s with 20 (docs/benchmarks.md). Size the sum over processes against PostgreSQL's
    ``max_connections``: each server worker and ``bontrack worker`` may hold
    ``size + overflow``."""

    size: int
    overflow: int


def db_pool_size() -> PoolSize:
    """From the environment: BONTRACK_DB_POOL_SIZE (default 20) and
    BONTRACK_DB_MAX_OVERFLOW (default 10)."""
    return PoolSize(_env_int(ENV_DB_POOL_SIZE, 20, 1, 1000),
                    _env_int(ENV_DB_MAX_OVERFLOW, 10, 0, 1000))


# -- CDS Hooks (issue 18 item 1): the EHRs that may call the dose check --------------------

ENV_CDS_CLIENTS = "BONTRACK_CDS_CLIENTS"


def cds_clients_path() -> Path | None:
    """The file (JSON or YAML) that registers the EHRs calling /cds-services: each issuer's
    keys (inline JWKS or allowed JWKS URLs) and the clinic and account it acts for
    (docs/cds-hooks.md). Unset: no EHR may call, every hook call answers 401."""
    raw = os.environ.get(ENV_CDS_CLIENTS, "").strip()
    return Path(raw).expanduser() if raw else None


# -- the clinic as patients and staff see it (issue 17) ---------------------------------------

ENV_CLINIC_TZ = "BONTRACK_CLINIC_TZ"
ENV_CLINIC_PHONE = "BONTRACK_CLINIC_PHONE"
ENV_CLINIC_HOURS = "BONTRACK_CLINIC_HOURS"


@dataclass(frozen=True)
class ClinicSettings:
    """What pages show about the clinic: the time zone that signatures and overrides are
    read in (times are stored in UTC), and the phone number and opening hours printed on
    the patient leaflet. An empty phone or hours is shown as "ask at the clinic", never a
    made-up number."""

    time_zone: str = "UTC"
    phone: str = ""
    hours: str = ""


def clinic_settings() -> ClinicSettings:
    """BONTRACK_CLINIC_TZ (an IANA zone such as ``Europe/London``; default the server's
    own zone as the TZ variable names it, else UTC), BONTRACK_CLINIC_PHONE and
    BONTRACK_CLINIC_HOURS, read at each call."""
    raw = (os.environ.get(ENV_CLINIC_TZ) or os.environ.get("TZ") or "UTC").strip()
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"{ENV_CLINIC_TZ}={raw!r}: expected an IANA time zone such as "
                         "Europe/London") from None
    return ClinicSettings(time_zone=raw,
                          phone=os.environ.get(ENV_CLINIC_PHONE, "").strip()[:40],
                          hours=os.environ.get(ENV_CLINIC_HOURS, "").strip()[:200])


# -- scale-out (issue 16): jobs, a read replica --------------------------------------------------

ENV_JOBS_IN_SERVER = "BONTRACK_JOBS_IN_SERVER"
ENV_READ_DB = "BONTRACK_READ_DATABASE_URL"


def _env_switch(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{name}={raw!r}: expected on or off (1/0, true/false)")


def jobs_in_server() -> bool:
    """Whether each server process also runs queued jobs (Bulk Data exports) in a thread:
    BONTRACK_JOBS_IN_SERVER, on by default. Turn it off when ``bontrack worker`` processes
    run them (docs/scaling.md)."""
    return _env_switch(ENV_JOBS_IN_SERVER, True)


def read_database_url() -> str | None:
    """Where long reads (Bulk Data exports, reports, analytics) go: BONTRACK_READ_DATABASE_URL,
    e.g. a PostgreSQL streaming replica; None (the default) reads the primary
    (``DATABASE_URL``). Same forms as ``database_url``."""
    raw = os.environ.get(ENV_READ_DB, "").strip()
    return database_url(raw) if raw else None
