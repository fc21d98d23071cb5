"""The FHIR read and search use cases: which rows a user may see, found by FHIR search
parameters, returned as resources. Same role and clinic rules and the same audit trail as
the REST API (services.access, services.audit): another clinic's record is "not found", a
patient sees only their own record.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select
from sqlalchemy.orm import Session

from bontrack.errors import AccessDenied, BadSearch, InvalidRecord, NotFound
from bontrack.fhir.export import resources
from bontrack.fhir.kind import Kind
from bontrack.fhir.mapping import Context, Json
from bontrack.fhir.query import MODIFIERS, ParamType, Source
from bontrack.fhir.registry import REGISTRY, Registry
from bontrack.fhir.tables import CY, P
from bontrack.numerals import digits_value, is_digits
from bontrack.services import audit
from bontrack.services.access import Actor, can_read_patient
from bontrack.services.given import GIVEN
from bontrack.store.models import Patient

MAX_COUNT = 200
DEFAULT_COUNT = 50
#: Parameters every search accepts; anything else is refused (400) rather than ignored, so
#: a misspelt filter never silently returns more records than asked for, unless the client
#: asks for ``Prefer: handling=lenient`` (then it is ignored and left out of the self link).
COMMON = ("_id", "_count", "_offset", "_sort", "_format", "_totalMethod", "_summary",
          "_elements")
#: ``_summary`` values served: ``count`` (the total, no resources) and ``false``.
SUMMARIES = ("count", "false")
#: The tag FHIR puts on a resource that ``_elements`` cut down.
SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
             "code": "SUBSETTED", "display": "subsetted"}
#: The most resources ``_include`` and ``_revinclude`` add to one page; more is refused
#: (400: narrow the search or lower ``_count``) rather than cut short without a word.
MAX_INCLUDED = 1000


#: The types served by search (the registry's kinds with search sources) and by read.
TYPES = REGISTRY.searchable
READABLE = REGISTRY.types
_DATE = re.compile(r"^(eq|ne|gt|ge|lt|le|sa|eb)?(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
                   r"(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")


def _date_range(raw: str, name: str) -> tuple[str, date, date | None]:
    """(prefix, first day, day after the last) of a FHIR date; the end is ``None`` when the
    range runs to the end of the calendar (``9999-12-31``, ``9999-12``, ``9999``: the day
    after does not exist, issue 17 F5)."""
    m = _DATE.match(raw)
    if not m:
        raise InvalidRecord(f"{name}: {raw!r} is not a FHIR date (like ge2026-01-31)",
                            field=name)
    prefix, y, mo, d = m.group(1) or "eq", int(m.group(2)), m.group(3), m.group(4)
    try:
        if d:
            start = date(y, int(mo), int(d))
        elif mo:
            start = date(y, int(mo), 1)
        else:
            start = date(y, 1, 1)
    except ValueError:
        what = "day" if d else "month" if mo else "year"
        raise InvalidRecord(f"{name}: {raw!r} is not a real {what}", field=name) from None
    last = (start if d else date(y, int(mo), monthrange(y, int(mo))[1]) if mo
            else date(y, 12, 31))
    end = None if last == date.max else last + timedelta(days=1)
    return prefix, start, end


def _date_filter(col: Any, raw: str, name: str) -> ColumnElement[bool]:
    prefix, start, end = _date_range(raw, name)
    lo: Any = start
    hi: Any = end
    if col.type.python_type is datetime:
        lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
        hi = None if end is None else datetime(end.year, end.month, end.day, tzinfo=UTC)
    within = col >= lo if hi is None else and_(col >= lo, col < hi)
    after: ColumnElement[bool] = false() if hi is None else col >= hi
    up_to: ColumnElement[bool] = col.is_not(None) if hi is None else col < hi
    chosen: ColumnElement[bool] = {
        "eq": within, "ne": not_(within),
        "gt": after, "sa": after, "ge": col >= lo,
        "lt": col < lo, "eb": col < lo, "le": up_to,
    }[prefix]
    return chosen


def _patient_value(raw: str, name: str) -> int:
    value = raw.rsplit("/", 1)[-1] if raw.startswith("Patient/") or "/" not in raw else None
    if value is None or not is_digits(value, 18):
        raise InvalidRecord(f"{name}: expected a patient reference like Patient/12, got "
                            f"{raw!r}", field=name)
    return int(value)


def _token(raw: str) -> tuple[str | None, str]:
    if "|" in raw:
        system, _, code = raw.partition("|")
        return (system or None), code
    return None, raw


@dataclass
class Page:
    resources: list[Json]
    total: int
    count: int
    offset: int
    applied: list[tuple[str, str]]
    summary_count: bool = False
    ignored: list[str] | None = None
    #: resources added by ``_include`` / ``_revinclude`` (``search.mode = include``)
    included: list[Json] | None = None


def accepted(kind_params: Mapping[str, ParamType], sources: tuple[Source, ...]
             ) -> dict[str, ParamType | None]:
    """Every parameter a kind's search takes (None: a common one), for the checks and the
    CapabilityStatement alike."""
    out: dict[str, ParamType | None] = {name: None for name in COMMON}
    if any(src.updated is not None for src in sources):
        out["_lastUpdated"] = "date"
    out.update(kind_params)
    return out


def sort_keys(kind: Kind) -> tuple[str, ...]:
    """The ``_sort`` keys of a kind: ``_id``, ``_lastUpdated`` where its rows keep a time of
    change, and its date parameters (``date``, Patient's ``birthdate``), each ascending or
    with ``-`` descending."""
    keys = ["_id"]
    if any(src.updated is not None for src in kind.sources):
        keys.append("_lastUpdated")
    keys += [name for name, ptype in kind.params.items() if ptype == "date"]
    return tuple(keys)


def includes(kind: Kind) -> tuple[str, ...]:
    """The ``_include`` values a kind's search takes (``Procedure:subject``)."""
    return tuple(f"{kind.name}:{name}" for name in kind.includes)


def revincludes(kind: Kind, registry: Registry = REGISTRY) -> tuple[str, ...]:
    """The ``_revinclude`` values a kind's search takes: every searchable kind's reference
    parameter that points at Patient (the only references search can filter on)."""
    if kind.name != "Patient":
        return ()
    return tuple(f"{k.name}:{name}" for k in registry if k.searchable
                 for name, (_, target) in k.includes.items()
                 if target == "Patient" and k.params.get(name) == "reference")


def _sort_order(src: Source, keys: list[str]) -> list[Any]:
    """ORDER BY of one source for the parsed ``_sort`` keys, the row id breaking ties."""
    order: list[Any] = []
    descending = False
    for key in keys:
        descending = key.startswith("-")
        name = key.lstrip("-")
        col = (src.table.c.id if name == "_id" else src.updated if name == "_lastUpdated"
               else src.date)
        if col is not None:
            order.append(col.desc() if descending else col)
    key_col = src.table.c.id
    order.append(key_col.desc() if descending else key_col)
    return order


def _refs(resource: Json, element: str, target: str) -> list[str]:
    """The ids of ``target`` resources an element of a resource references."""
    value = resource.get(element)
    out = []
    for one in value if isinstance(value, list) else [value]:
        reference = one.get("reference") if isinstance(one, dict) else None
        if isinstance(reference, str) and reference.startswith(f"{target}/"):
            out.append(reference.removeprefix(f"{target}/"))
    return out


def _may_include(session: Session, actor: Actor, kind: str, resource: Json,
                 patient_id: int) -> bool:
    """Whether an included resource is one the actor may read: of the actor's clinic and,
    for a patient, their own and not a plan (the rules of ``read``)."""
    patient = session.get(Patient, patient_id)
    if patient is None or patient.clinic_id != actor.clinic_id:
        return False
    if actor.role == "patient":
        return patient.id == actor.patient_id and not _is_plan(session, kind, resource)
    return True


def _included(session: Session, actor: Actor, ctx: Context, matches: list[Json],
              wanted: list[tuple[str, str]], reverse: list[tuple[Kind, str]],
              registry: Registry) -> list[Json]:
    """The resources ``_include`` (``wanted``: element, target type) and ``_revinclude``
    (``reverse``: kind, its reference parameter) add to a page of matches: each once, none
    already matched, none the actor may not read."""
    seen = {(r["resourceType"], r["id"]) for r in matches}
    out: list[Json] = []

    def add(resource: Json) -> None:
        key = (resource["resourceType"], resource["id"])
        if key not in seen:
            seen.add(key)
            out.append(resource)
            if len(out) > MAX_INCLUDED:
                raise BadSearch(f"_include/_revinclude: more than {MAX_INCLUDED} resources "
                                "to include; narrow the search or lower _count",
                                field="_include")

    for element, target in wanted:
        for r in matches:
            for rid in _refs(r, element, target):
                if (target, rid) in seen:
                    continue
                try:
                    resource, patient_id = build(session, ctx, target, rid, registry)
                except NotFound:
                    continue
                if _may_include(session, actor, target, resource, patient_id):
                    add(resource)
    patients = [r["id"] for r in matches if r["resourceType"] == "Patient"]
    for k, name in reverse:
        if not patients:
            break
        for src in k.sources:
            where = _where(k.params, src, actor, [(name, ",".join(patients))])
            if where is None:
                continue
            stmt: Select[Any] = (select(src.table.c.id).select_from(_from(src)).where(where)
                                 .order_by(src.table.c.id).limit(MAX_INCLUDED + 1))
            for rid in session.scalars(stmt):
                add(build(session, ctx, k.name, f"{src.id_prefix}{rid}", registry)[0])
    return out


def _elements(resource: Json, keep: set[str]) -> Json:
    out = {k: v for k, v in resource.items() if k in keep or k in ("resourceType", "id")}
    meta = dict(resource.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    out["meta"] = meta
    return out


def _where(types: Mapping[str, ParamType], src: Source, actor: Actor,
           params: list[tuple[str, str]]) -> ColumnElement[bool] | None:
    """The filter of one source, or None when the parameters exclude it entirely. Each
    parameter filters by its type (``types``: the kind's search parameters)."""
    conds: list[ColumnElement[bool]] = [P.c.clinic_id == actor.clinic_id]
    if actor.role == "patient":
        conds.append(P.c.id == (actor.patient_id or -1))
        if src.table is CY or src.join is CY:  # a plan (draft) is not shown as given
            conds.append(or_(CY.c.status == GIVEN, CY.c.signed_at.is_not(None)))
    for full, raw in params:
        name, _, modifier = full.partition(":")
        if name == "_lastUpdated":
            if src.updated is None:
                return None
            conds.append(_date_filter(src.updated, raw, name))
        elif name in src.filters:
            conds.append(src.filters[name](raw, modifier))
        elif name == "_id":
            ids = []
            for one in raw.split(","):
                if src.id_prefix:
                    if not one.startswith(src.id_prefix):
                        continue
                    one = one[len(src.id_prefix):]
                elif not is_digits(one, 18):
                    continue
                if is_digits(one, 18):
                    ids.append(int(one))
            if not ids:
                return None
            conds.append(src.table.c.id.in_(ids))
        elif types[name] == "reference":
            conds.append(src.patient.in_([_patient_value(v, name) for v in raw.split(",")]))
        elif types[name] == "date":
            if src.date is None:
                return None
            conds.append(_date_filter(src.date, raw, name))
        elif types[name] == "token":
            if src.code is None:
                return None
            conds.append(or_(*[src.code(*_token(v)) for v in raw.split(",")]))
        else:  # a parameter of the kind that this source cannot filter on: no match
            return None
    return and_(*conds)


def _from(src: Source) -> Any:
    base = src.table
    if src.join is not None:
        base = base.join(src.join, src.join.c.id == src.table.c.cycle_id)
    if src.table is not P:
        base = base.join(P, P.c.id == src.patient)
    return base


#: Bounds of one search (issue 17, F6): past them SQLite refused the query (a LIKE pattern
#: over 50,000 bytes, an expression tree too deep), answered as "database busy", after
#: seconds of CPU. Refused first, with a 400 naming the parameter.
MAX_PARAMS = 50
MAX_VALUES = 100
MAX_VALUE_CHARS = 2000


def check_bounds(query: list[tuple[str, str]]) -> None:
    """Refuse (400, naming the parameter) a search with more than ``MAX_PARAMS``
    parameters, a value longer than ``MAX_VALUE_CHARS`` or with more than ``MAX_VALUES``
    comma-separated values."""
    if len(query) > MAX_PARAMS:
        counts: dict[str, int] = {}
        for full, _ in query:
            counts[full] = counts.get(full, 0) + 1
        most = max(counts, key=lambda n: counts[n])
        raise BadSearch(f"{most}: a search takes at most {MAX_PARAMS} parameters, this one "
                        f"has {len(query)}", field=most)
    for full, raw in query:
        if len(raw) > MAX_VALUE_CHARS:
            raise BadSearch(f"{full}: a value is at most {MAX_VALUE_CHARS} characters, this "
                            f"one has {len(raw)}", field=full)
        if raw.count(",") >= MAX_VALUES:
            raise BadSearch(f"{full}: at most {MAX_VALUES} values separated by commas, this "
                            f"has {raw.count(',') + 1}", field=full)


def search(session: Session, actor: Actor, ctx: Context, kind: str,
           query: list[tuple[str, str]], registry: Registry = REGISTRY,
           lenient: bool = False) -> Page:
    """Resources of ``kind`` matching ``query`` (repeated parameters mean AND; a comma
    means OR), in id order, one page at a time. Unknown parameters are refused (400), or
    ignored and reported when ``lenient`` (``Prefer: handling=lenient``)."""
    k = registry.get(kind)
    if k is None or not k.searchable:
        raise NotFound(f"resource type {kind!r} is not searched here")
    check_bounds(query)
    allowed = accepted(k.params, k.sources)
    count, offset = DEFAULT_COUNT, 0
    params: list[tuple[str, str]] = []
    ignored: list[str] = []
    summary, keep = "false", None
    sort: list[str] = []
    wanted: list[tuple[str, str]] = []
    reverse: list[tuple[Kind, str]] = []
    asked_includes: list[tuple[str, str]] = []
    for full, raw in query:
        name, _, modifier = full.partition(":")
        problem = None
        if name in ("_include", "_revinclude"):
            offered = includes(k) if name == "_include" else revincludes(k, registry)
            source, _, rest = raw.partition(":")
            param, _, target = rest.partition(":")
            if modifier:
                problem = f"{full}: the modifier :{modifier} is not supported"
            elif f"{source}:{param}" not in offered:
                problem = (f"{name}: {raw!r} is not supported on {kind}; supported: "
                           f"{', '.join(offered) or 'none'}")
            else:
                other = registry.get(source)
                assert other is not None
                element, points_to = other.includes[param]
                if target and target != points_to:
                    problem = f"{name}: {source}:{param} points to {points_to}, not {target}"
                elif name == "_include":
                    wanted.append((element, points_to))
                else:
                    reverse.append((other, param))
            if problem:
                if lenient:
                    ignored.append(f"{full}={raw}")
                    continue
                raise BadSearch(problem, field=name)
            asked_includes.append((full, raw))
            continue
        if name not in allowed:
            problem = (f"{kind} search does not support {name}; supported: "
                       f"{', '.join(sorted(allowed))}")
        elif modifier and modifier not in MODIFIERS.get(allowed[name] or "token", ()):
            problem = f"{full}: the modifier :{modifier} is not supported for {name}"
        if problem:
            if lenient:
                ignored.append(full)
                continue
            raise BadSearch(problem, field=full)
        if name == "_sort":
            offered = sort_keys(k)
            keys = [key.strip() for key in raw.split(",")]
            bad = [key for key in keys if key.removeprefix("-") not in offered]
            if bad:
                raise BadSearch(f"_sort: {', '.join(bad)} is not supported on {kind}; "
                                f"sort by {', '.join(offered)} (- for descending)",
                                field="_sort")
            sort = keys
            continue
        if name == "_summary":
            if raw not in SUMMARIES:
                raise BadSearch(f"_summary: {raw!r} is not supported; use one of "
                                f"{', '.join(SUMMARIES)}", field="_summary")
            summary = raw
        elif name == "_elements":
            keep = {e.strip() for e in raw.split(",") if e.strip()}
        elif name in ("_count", "_offset"):
            if not is_digits(raw, 18):
                raise InvalidRecord(f"{name} must be a whole number, got {raw[:40]!r}",
                                    field=name)
            if name == "_count":
                count = min(int(raw), MAX_COUNT)
            else:
                offset = int(raw)
        elif name not in ("_format", "_totalMethod"):
            params.append((full, raw))
    if summary == "count":
        count = 0
    found: list[Json] = []
    total = 0
    skip, want = offset, count
    for src in k.sources:
        where = _where(k.params, src, actor, params)
        if where is None:
            continue
        n = session.scalar(select(func.count()).select_from(_from(src)).where(where)) or 0
        total += n
        if want > 0 and skip < n:
            order = _sort_order(src, sort)
            stmt: Select[Any] = (select(src.table.c.id).select_from(_from(src)).where(where)
                                 .order_by(*order).offset(skip).limit(want))
            for rid in session.scalars(stmt):
                found.append(build(session, ctx, kind, f"{src.id_prefix}{rid}", registry)[0])
            want = count - len(found)
        skip = max(0, skip - n)
    included = ([] if summary == "count" else
                _included(session, actor, ctx, found, wanted, reverse, registry))
    extra = f" included={len(included)}" if asked_includes else ""
    audit.record(session, actor, "search", f"fhir:{kind}",
                 patient_id=actor.patient_id if actor.role == "patient" else None,
                 detail=f"{'&'.join(f'{k}={v}' for k, v in [*params, *asked_includes])} "
                        f"n={len(found)}{extra}"[:400])
    params += asked_includes
    if sort:
        params.append(("_sort", ",".join(sort)))
    if keep is not None:
        found = [_elements(r, keep) for r in found]
        params.append(("_elements", ",".join(sorted(keep))))
    if summary == "count":
        params.append(("_summary", "count"))
    return Page(found, total, count, offset, params, summary == "count", ignored, included)


def build(session: Session, ctx: Context, kind: str, rid: str,
          registry: Registry = REGISTRY) -> tuple[Json, int]:
    """One resource by type and id, with the id of the patient it belongs to.
    Raises NotFound if there is no such record."""
    k = registry.get(kind)
    if k is None:
        raise NotFound(f"resource type {kind!r} is not served here")
    found = k.fetch(session, ctx, rid)
    if found is None:
        raise NotFound(f"{kind}/{rid} not found")
    return found


def _is_plan(session: Session, kind: str, resource: Json,
             registry: Registry = REGISTRY) -> bool:
    """Whether a resource belongs to a cycle that was never given (a draft): the session,
    its encounter, its administrations and its vials are a plan, not the patient's
    treatment."""
    k = registry.get(kind)
    cycle_id = k.cycle_of(session, resource) if k is not None and k.cycle_of else None
    if cycle_id is None:
        return False
    row = session.execute(select(CY.c.status, CY.c.signed_at).where(CY.c.id == cycle_id)
                          ).first()
    return row is not None and row.status != GIVEN and row.signed_at is None


def read(session: Session, actor: Actor, ctx: Context, kind: str, rid: str) -> Json:
    """One resource, if the actor may read its patient's record (audited)."""
    resource, patient_id = build(session, ctx, kind, rid)
    patient = session.get(Patient, patient_id)
    assert patient is not None
    try:
        can_read_patient(actor, patient)
        if actor.role == "patient" and _is_plan(session, kind, resource):
            raise NotFound(f"{kind}/{rid} not found")
    except NotFound:
        raise NotFound(f"{kind}/{rid} not found") from None
    except AccessDenied as exc:
        exc.entity = f"fhir:{kind}"
        raise
    audit.record(session, actor, "read", f"fhir:{kind}", digits_value(rid, 18),
                 patient_id)
    return resource


def everything(session: Session, actor: Actor, ctx: Context, patient_id: str) -> list[Json]:
    """Patient/$everything: the patient's whole record (audited as one read)."""
    if not is_digits(patient_id, 18):
        raise NotFound(f"Patient/{patient_id} not found")
    patient = session.get(Patient, int(patient_id))
    if patient is None:
        raise NotFound(f"Patient/{patient_id} not found")
    try:
        can_read_patient(actor, patient)
    except NotFound:
        raise NotFound(f"Patient/{patient_id} not found") from None
    out = list(resources(session, ctx, patient_ids=[patient.id]))
    if actor.role == "patient":
        out = [r for r in out if not _is_plan(session, r["resourceType"], r)]
    audit.record(session, actor, "read", "fhir:everything", patient.id, patient.id,
                 detail=f"n={len(out)}")
    return out
