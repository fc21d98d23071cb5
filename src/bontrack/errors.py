"""The error tree of bontrack.

    BontrackError                 anything we report to a person in one line
    ├── ReferenceDataError        a reference data file is malformed (file, field, reason)
    └── PlanError                 a plan cannot be read or is invalid (file, field, reason)
        └── UnknownNameError      an unknown product, indication or muscle, with suggestions

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
