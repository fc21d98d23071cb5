"""Times as the clinic reads them: stored in UTC, shown in the clinic's zone
(BONTRACK_CLINIC_TZ) as ``6 Dec 2026, 09:52 GMT`` on the pages and in the PDFs."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bontrack.config import clinic_settings


def local_time(value: str | datetime | None) -> str:
    """A stored UTC time in the clinic's time zone, never ``2026-12-06T09:52:43.928184``."""
    if value in (None, ""):
        return "—"
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(ZoneInfo(clinic_settings().time_zone))
    return f"{local.day} {local:%b %Y, %H:%M} {local:%Z}"


def css_string(text: object) -> str:
    """Text inside a CSS string (a PDF page header): quotes and backslashes escaped."""
    out = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return "".join(ch if ch.isprintable() else " " for ch in out)
