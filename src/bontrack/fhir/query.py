"""What a resource kind declares for search: the tables behind it (``Source``) and its
search parameters with their FHIR type, which also says how each one filters:

- ``reference`` (``patient``, ``subject``): the source's patient column;
- ``date``: the source's date column, with the FHIR prefixes (eq, ge, lt, ...);
- ``token`` (``code``): the source's code filter, given ``system|code`` or ``code``.

``_id``, ``_count``, ``_offset``, ``_sort`` and the like are common to every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement

from bontrack.fhir.tables import P

ParamType = Literal["reference", "date", "token"]
#: A kind's code filter: (system or None, code) -> the SQL condition.
CodeFilter = Callable[[str | None, str], ColumnElement[bool]]
#: ``patient`` and ``subject``: every kind about one patient has both.
SUBJECT: dict[str, ParamType] = {"patient": "reference", "subject": "reference"}


@dataclass(frozen=True)
class Source:
    """One table behind a resource type: its id, patient, date and code columns."""

    table: Any
    patient: Any
    date: Any = None
    code: CodeFilter | None = None
    id_prefix: str = ""
    join: Any = None


def never() -> ColumnElement[bool]:
    """A condition no row meets (a code of a system this kind does not use)."""
    return P.c.id != P.c.id
