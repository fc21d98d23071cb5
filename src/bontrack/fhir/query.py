"""What a resource kind declares for search: the tables behind it (``Source``) and its
search parameters with their FHIR type, which also says how each one filters:

- ``reference`` (``patient``, ``subject``): the source's patient column;
- ``date``: the source's date column, with the FHIR prefixes (eq, ge, lt, ...);
- ``token`` (``code``): the source's code filter, given ``system|code`` or ``code``;
- any parameter the source names in ``filters`` (Patient's ``identifier``, ``name``,
  ``family``, ``given``, ``birthdate``, ``gender``): the source's own filter for that
  parameter, given the raw value.

``_id``, ``_count``, ``_offset``, ``_sort``, ``_summary``, ``_elements`` and the like are
common to every kind; ``_lastUpdated`` to every kind whose source has an ``updated`` column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement

from bontrack.fhir.tables import P

ParamType = Literal["reference", "date", "token", "string"]
#: A kind's code filter: (system or None, code) -> the SQL condition.
CodeFilter = Callable[[str | None, str], ColumnElement[bool]]
#: A source's filter for one named parameter: (the raw value, its modifier or "") -> the
#: SQL condition.
ParamFilter = Callable[[str, str], ColumnElement[bool]]
#: The modifiers each parameter type takes (``name:contains``); any other is refused.
MODIFIERS: dict[ParamType, tuple[str, ...]] = {"string": ("exact", "contains")}
#: ``patient`` and ``subject``: every kind about one patient has both.
SUBJECT: dict[str, ParamType] = {"patient": "reference", "subject": "reference"}
#: ``_include`` of the patient: search parameter -> (the element holding the reference, the
#: type it points to). A kind names its includes in ``Kind.includes``.
SUBJECT_INCLUDES: dict[str, tuple[str, str]] = {"patient": ("subject", "Patient"),
                                                "subject": ("subject", "Patient")}


@dataclass(frozen=True)
class Source:
    """One table behind a resource type: its id, patient, date and code columns."""

    table: Any
    patient: Any
    date: Any = None
    code: CodeFilter | None = None
    id_prefix: str = ""
    join: Any = None
    filters: Mapping[str, ParamFilter] = field(default_factory=dict)
    updated: Any = None


def never() -> ColumnElement[bool]:
    """A condition no row meets (a code of a system this kind does not use)."""
    return P.c.id != P.c.id
