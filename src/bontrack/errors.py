"""The error tree of bontrack: every exception raised on purpose is one of these.

    BontrackError                   anything we report to a person in one line
    ├── FieldError                  tied to one field of one document (where, field, reason)
    │   ├── ReferenceDataError      a reference data file is malformed
    │   ├── PlanError               a plan cannot be read or is invalid
    │   │   └── UnknownNameError    an unknown product, indication or muscle, with suggestions
    │   ├── ScaleError              a value outside its outcome scale (also a ValueError)
    │   └── UnknownAnswer           a GAS quick answer not in the cited table (also a ValueError)
    ├── DocumentError               a JSON/YAML document cannot be decoded (also a ValueError)
    ├── UnitsMismatchError          units of two products meet in arithmetic (also a TypeError)
    ├── ImportRefused               a FHIR input that cannot be imported; nothing was written
    ├── DatabaseUnavailable         the database is missing, not bontrack's, or unreachable
    ├── SettingError                a BONTRACK_* setting is malformed (also a ValueError)
    ├── NeedsWriter                 a read-only snapshot met a write (control flow, not shown)
    ├── StaleRead                   a kept lookup changed before its read was committed
    │                               (control flow, not shown: the full path answers)
    └── RecordError                 the record store refuses a request (carries an HTTP status)
        ├── BadSearch               400 (a FHIR search parameter or modifier not served)
        ├── NotAuthenticated        401
        ├── AccessDenied            403
        ├── PasswordChangeRequired  403 (right password, set by an admin: no session yet)
        ├── SecondFactorSetupRequired 403 (right password; MFA required, not yet enrolled)
        ├── NotFound                404
        ├── Conflict                409
        ├── VersionMismatch         412
        ├── InvalidRecord           422
        ├── StopNotOverridden       422
        └── TooManyAttempts         429 (too many requests; sign-in refusals are 401)

``bontrack.errors_render`` maps the tree once (status, title, detail, field) and every edge
renders that: problem+json under /api, an OperationOutcome under /fhir, an HTML page for the
web pages (``bontrack.server.errors``), one line and exit status 2 in the CLI. The old base
classes of ScaleError, DocumentError and UnitsMismatchError stay as mixins so that code and
tests catching ValueError / TypeError keep working.
"""

from __future__ import annotations

from collections.abc import Sequence


class BontrackError(Exception):
    """Base of every error a person may see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FieldError(BontrackError):
    """An error tied to one field of one document."""

    def __init__(self, where: str, field: str, reason: str) -> None:
        self.where = where
        self.field = field
        self.reason = reason
        location = f"{where}: " if where else ""
        super().__init__(f"{location}{field}: {reason}" if field else f"{location}{reason}")


class ScaleError(FieldError, ValueError):
    """A value that is not on its outcome scale (``field`` names the scale or the field)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__("", field, reason)


class UnknownAnswer(FieldError, ValueError):
    """A GAS quick answer that is not one of the cited table's (``clinical.gas.quick_level``);
    ``choices`` lists those that are."""

    def __init__(self, answer: str, choices: Sequence[str]) -> None:
        self.answer, self.choices = answer, tuple(choices)
        super().__init__("", "answer",
                         f"{answer!r} is not one of the quick answers ({', '.join(choices)})")


class ReferenceDataError(FieldError):
    """A reference data file is missing, malformed or inconsistent."""


class PlanError(FieldError):
    """A plan cannot be read or a field of it is invalid."""


class UnknownNameError(PlanError):
    """A name that is not in the reference data; carries the closest known names."""

    def __init__(self, where: str, field: str, value: str, kind: str, suggestions: list[str]):
        self.value = value
        self.kind = kind
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(where, field, f"unknown {kind} {value!r}{hint}")


class RecordError(BontrackError):
    """Base of errors of the record store and its use cases; ``status`` is the HTTP status
    the API answers with."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAuthenticated(RecordError):
    status = 401
    title = "Not signed in"


class PasswordChangeRequired(RecordError):
    """The password is right but was set by an administrator (or must otherwise be
    changed): no session is issued until the user chooses a new one."""

    status = 403
    title = "Password change required"
    type = "/problems/password-change-required"


class SecondFactorSetupRequired(RecordError):
    """The password is right, the account must use a second factor (TOTP) and has not
    enrolled one: no session is issued until it does (on the web sign-in)."""

    status = 403
    title = "Two-step sign-in must be set up"
    type = "/problems/mfa-enrolment-required"


class AccessDenied(RecordError):
    """The user may not do this (role rules, another clinic, another patient)."""

    status = 403
    title = "Forbidden"

    def __init__(
        self, message: str, *, entity: str = "", entity_id: int | None = None,
        patient_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.entity = entity
        self.entity_id = entity_id
        self.patient_id = patient_id


class BadSearch(RecordError):
    """A FHIR search names a parameter, modifier or value the server does not take (400,
    as the CapabilityStatement says; ``Prefer: handling=lenient`` ignores unknown ones)."""

    status = 400
    title = "Unsupported search"


class NotFound(RecordError):
    status = 404
    title = "Not found"


class Conflict(RecordError):
    """The record changed, or is locked, or the request clashes with what is stored."""

    status = 409
    title = "Conflict"


class VersionMismatch(RecordError):
    """If-Match (or version) does not match the stored version: someone else changed it."""

    status = 412
    title = "Precondition failed"


class InvalidRecord(RecordError):
    """A field of a request is invalid (names the field)."""

    status = 422
    title = "Invalid field"


class StopNotOverridden(RecordError):
    """The plan check found stop findings that have no clinician override with a reason."""

    status = 422
    title = "Stop findings need a clinician's override"

    def __init__(self, message: str, findings: list[dict[str, object]]) -> None:
        super().__init__(message, field="overrides")
        self.findings = findings


class TooManyAttempts(RecordError):
    status = 429
    title = "Too many sign-in attempts"


class DocumentError(BontrackError, ValueError):
    """A document that cannot be decoded. ``where`` is a readable position ("line 3 column 1")
    or ""; ``key`` names a duplicated key when that is the problem."""

    def __init__(self, message: str, where: str = "", key: str | None = None) -> None:
        super().__init__(message)
        self.where = where
        self.key = key

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class UnitsMismatchError(BontrackError, TypeError):
    """Units of two different products met in arithmetic or comparison."""


class ImportRefused(BontrackError):
    """The input cannot be imported as it stands; nothing was written. ``problems`` are the
    reader's problems (each printable as one line)."""

    def __init__(self, problems: Sequence[object]) -> None:
        self.problems = list(problems)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


class DatabaseUnavailable(BontrackError):
    """The database does not exist, is not a bontrack database, or cannot be reached."""


class SettingError(BontrackError, ValueError):
    """A setting from the environment (``bontrack.config``) that cannot be used: the
    message names the variable, its value and what is expected."""


class NeedsWriter(BontrackError):
    """A reading unit of work (a snapshot without the writer lock, ``store.uow``) met a
    statement that writes. Control flow, never shown to a person: ``services.usecase`` rolls
    the use case back and runs it again as a writer. One that escapes a use case is a bug
    and is answered 500 (``errors_render``)."""

    def __init__(self, statement: str) -> None:
        super().__init__(f"a read-only unit of work met a write ({statement})")


class StaleRead(BontrackError):
    """A row kept by a fast lane's lookup (``store.kept_pg``) changed before the read
    events of the requests that relied on it were committed: nothing of theirs was
    written. Control flow, never shown to a person: the fast lane gives way and the
    declared route answers, reading and recording afresh. One that escapes is a bug and is
    answered 500 (``errors_render``)."""

    def __init__(self) -> None:
        super().__init__("a kept lookup changed before its read was committed")
