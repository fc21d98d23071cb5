"""The error tree of bontrack.

    BontrackError                 anything we report to a person in one line
    ├── FieldError
    │   ├── ReferenceDataError    a reference data file is malformed (file, field, reason)
    │   └── PlanError             a plan cannot be read or is invalid (file, field, reason)
    │       └── UnknownNameError  an unknown product, indication or muscle, with suggestions
    └── RecordError               the record store refuses a request (carries an HTTP status)
        ├── NotAuthenticated 401, AccessDenied 403, NotFound 404
        ├── PasswordChangeRequired 403 (right password, set by an admin: no session yet)
        ├── Conflict 409, VersionMismatch 412
        └── InvalidRecord 422, StopNotOverridden 422

Each boundary maps these once: the CLI prints one line and exits 2; the API (later) answers
RFC 9457 problem+json.
"""

from __future__ import annotations


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
