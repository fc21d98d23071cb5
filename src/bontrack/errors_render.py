"""The one mapping of bontrack's error tree (bontrack.errors) to what a person is told:
status, title, detail and the field at fault. Every edge renders a ``Problem`` and nothing
else: problem+json under /api and an OperationOutcome under /fhir (bontrack.server.errors),
an HTML page on the web pages (bontrack.web.rendering), one line and exit status 2 in the
command line (``cli_line``)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from pydantic import ValidationError

from bontrack.errors import (
    BontrackError,
    NeedsWriter,
    NotAuthenticated,
    PasswordChangeRequired,
    PlanError,
    RecordError,
    SecondFactorSetupRequired,
    SettingError,
    StaleRead,
    StopNotOverridden,
)

#: The command line's exit status for an error a person can act on.
EXIT_ERROR = 2


@dataclass(frozen=True)
class Problem:
    status: int
    title: str
    detail: str
    field: str | None = None
    extra: dict[str, Any] = dc_field(default_factory=dict)
    headers: dict[str, str] = dc_field(default_factory=dict)


def describe(exc: BaseException) -> Problem:
    """What to tell a person about ``exc``: the one place the tree is mapped."""
    if isinstance(exc, RecordError):
        extra: dict[str, Any] = {}
        if isinstance(exc, StopNotOverridden):
            extra["findings"] = exc.findings
        if isinstance(exc, PasswordChangeRequired):
            extra["type"] = exc.type
            extra["change_password"] = "/api/v1/auth/password"
        if isinstance(exc, SecondFactorSetupRequired):
            extra["type"] = exc.type
            extra["enrol"] = "/login"
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else {}
        return Problem(exc.status, exc.title, exc.message, exc.field, extra, headers)
    if isinstance(exc, PlanError):
        return Problem(422, "Invalid plan", exc.reason, exc.field or "(plan)")
    if isinstance(exc, SettingError):  # the server's configuration, not the request
        return Problem(500, "Server setting", exc.message)
    if isinstance(exc, BontrackError) and not isinstance(exc, NeedsWriter | StaleRead):
        return Problem(400, "Bad request", exc.message)
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Problem(422, "Check the form", f"{where}: {first['msg']}", where or None)
    return Problem(500, "Internal error", "something went wrong; please report it")


def form_line(exc: BaseException) -> str:
    """One line naming the field and what is wrong, for a form's error message."""
    if isinstance(exc, ValidationError):
        return describe(exc).detail
    if isinstance(exc, PlanError):
        return f"{exc.field}: {exc.reason}" if exc.field else exc.reason
    if isinstance(exc, RecordError):
        return f"{exc.field}: {exc.message}" if exc.field else exc.message
    return str(exc)


def cli_line(exc: BontrackError) -> str:
    """The command line's one line on standard error (exit status ``EXIT_ERROR``)."""
    return f"bontrack: error: {exc.message}"
