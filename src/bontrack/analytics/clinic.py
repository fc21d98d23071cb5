"""The clinic as a whole: SQL aggregates (GROUP BY in the database) over the derived rows,
filtered by date range, indication, product and clinician. Medians come from histograms
aggregated in the database (value, count), so the same query runs on SQLite and PostgreSQL.
Units of different products are never summed: every unit figure is grouped by product."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from bontrack.analytics.patient import CLINIC_ROLES, number

#: Roles that see clinic-wide figures (clinic leads and clinicians; never patients).
from bontrack.analytics.projection import refresh, table_of
from bontrack.clinical.response import (
    responder_rules,
)
from bontrack.errors import InvalidRecord
from bontrack.numerals import digits_value
from bontrack.reference import Reference
from bontrack.services import audit
from bontrack.services.access import Actor, require_role
from bontrack.services.usecase import use_case
from bontrack.store.models import (
    DailyCycles,
    DailyEffects,
    DailyIntervals,
    DailyResponders,
    DailyResponses,
    User,
)

# -- filters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    indication: str | None = None
    product: str | None = None
    clinician_id: int | None = None

    def describe(self) -> str:
        parts = [f"from {self.date_from}" if self.date_from else "",
                 f"to {self.date_to}" if self.date_to else "",
                 f"indication {self.indication}" if self.indication else "",
                 f"product {self.product}" if self.product else "",
                 f"clinician #{self.clinician_id}" if self.clinician_id else ""]
        return ", ".join(x for x in parts if x) or "all cycles"

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in (
            ("from", self.date_from.isoformat() if self.date_from else ""),
            ("to", self.date_to.isoformat() if self.date_to else ""),
            ("indication", self.indication or ""), ("product", self.product or ""),
            ("clinician", str(self.clinician_id) if self.clinician_id else "")) if v}


FILTER_FIELDS = ("from", "to", "indication", "product", "clinician")


def _date(field: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(f"{field}: must be a date as YYYY-MM-DD, got {value!r}",
                            field=field) from None


@use_case()
def read_filters(session: Session, actor: Actor, ref: Reference,
                 raw: Mapping[str, str | None]) -> Filters:
    """Filters from a form, a query string or the command line; an unknown key or a bad
    value is an error naming the field."""
    require_role(actor, CLINIC_ROLES, "see clinic analytics")
    unknown = sorted(k for k in raw if k not in FILTER_FIELDS and k != "format")
    if unknown:
        raise InvalidRecord(f"{unknown[0]}: unknown filter; use {', '.join(FILTER_FIELDS)}",
                            field=unknown[0])
    val = {k: (raw.get(k) or "").strip() for k in FILTER_FIELDS}
    start = _date("from", val["from"]) if val["from"] else None
    end = _date("to", val["to"]) if val["to"] else None
    if start and end and start > end:
        raise InvalidRecord(f"from: {start} is after to {end}", field="from")
    indication = product = None
    if val["indication"]:
        indication = ref.indication_id(val["indication"])
        if indication is None:
            raise InvalidRecord(f"indication: unknown indication {val['indication']!r}",
                                field="indication")
    if val["product"]:
        product = ref.product_id(val["product"])
        if product is None:
            raise InvalidRecord(f"product: unknown product {val['product']!r}",
                                field="product")
    clinician = None
    if val["clinician"]:
        q = select(User.id).where(User.clinic_id == actor.clinic_id,
                                  User.role == "clinician")
        number = digits_value(val["clinician"])
        q = q.where(User.id == number) if number is not None else \
            q.where(User.username == val["clinician"])
        clinician = session.scalar(q)
        if clinician is None:
            raise InvalidRecord(f"clinician: no clinician {val['clinician']!r} in this clinic",
                                field="clinician")
    return Filters(start, end, indication, product, clinician)


def _where(cols: Any, clinic_id: int, f: Filters) -> list[Any]:
    cond = [cols.clinic_id == clinic_id]
    if f.date_from:
        cond.append(cols.date >= f.date_from)
    if f.date_to:
        cond.append(cols.date <= f.date_to)
    if f.indication:
        cond.append(cols.indication == f.indication)
    if f.product:
        cond.append(cols.product == f.product)
    if f.clinician_id:
        cond.append(cols.clinician_id == f.clinician_id)
    return cond


# -- clinic queries ----------------------------------------------------------------------


def _median(hist: Iterable[tuple[int, int]]) -> int | None:
    """The lower median of a histogram of (value, count)."""
    pairs = sorted((v, n) for v, n in hist if v is not None)
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    rank, seen = (total + 1) // 2, 0
    for v, n in pairs:
        seen += n
        if seen >= rank:
            return int(v)
    return None  # pragma: no cover


def responder_query(clinic_id: int, f: Filters) -> Select[Any]:
    r = table_of(DailyResponders).c
    return (select(r.indication, r.product, r.scale, func.sum(r.n).label("cycles"),
                   func.sum(case((r.responder.is_(True), r.n), else_=0)).label("responders"),
                   func.sum(case((r.responder.is_(None), r.n), else_=0)).label("unknown"))
            .where(*_where(r, clinic_id, f))
            .group_by(r.indication, r.product, r.scale)
            .order_by(r.indication, r.product, r.scale))


def duration_query(clinic_id: int, f: Filters) -> Select[Any]:
    r = table_of(DailyResponses).c
    return (select(r.indication, r.product, r.duration_days, func.sum(r.n).label("n"))
            .where(*_where(r, clinic_id, f),
                   r.duration_kind.in_(("measured", "diary")))
            .group_by(r.indication, r.product, r.duration_days))


def cycle_count_query(clinic_id: int, f: Filters) -> Select[Any]:
    c = table_of(DailyCycles).c
    return (select(c.indication, c.product, func.sum(c.cycles).label("cycles"))
            .where(*_where(c, clinic_id, f))
            .group_by(c.indication, c.product))


def side_effect_query(clinic_id: int, f: Filters) -> Select[Any]:
    e = table_of(DailyEffects).c
    return (select(e.indication, e.product, e.term, func.sum(e.n).label("cycles"))
            .where(*_where(e, clinic_id, f))
            .group_by(e.indication, e.product, e.term))


def interval_query(clinic_id: int, f: Filters) -> Select[Any]:
    a = table_of(DailyIntervals).c
    return (select(a.indication, a.interval_days, func.sum(a.n).label("n"),
                   func.sum(case((a.early.is_(True), a.n), else_=0)).label("early"))
            .where(*_where(a, clinic_id, f))
            .group_by(a.indication, a.interval_days))


def _month(session: Session, col: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.strftime("%Y-%m", col)


def waste_query(session: Session, clinic_id: int, f: Filters) -> Select[Any]:
    c = table_of(DailyCycles).c
    month = _month(session, c.date).label("month")
    return (select(c.product, month, func.sum(c.units_discarded).label("discarded"),
                   func.sum(c.units_opened).label("opened"), func.sum(c.vials).label("vials"))
            .where(*_where(c, clinic_id, f), c.vials > 0)
            .group_by(c.product, month).order_by(c.product, month))


def _label_rate(ref: Reference, product: str, indication: str, term: str
                ) -> tuple[Decimal, str] | None:
    """The label's rate of ``term`` for the product and indication, where the reference
    data has a cited one: same term, or the label's term as a whole word in the report."""
    p = ref.products.get(product)
    if p is None:
        return None
    for se in p.side_effects:
        if se.percent is None or se.indication not in (indication, None):
            continue
        label_term = se.term.lower().replace("(pediatric)", "").strip()
        if label_term == term or re.search(rf"\b{re.escape(label_term)}\b", term):
            return se.percent, ref.citation(se.source.document, se.source.section)
    return None


@use_case()
def clinic_analytics(session: Session, actor: Actor, ref: Reference, f: Filters,
                     audit_read: bool = True) -> dict[str, Any]:
    """Every clinic figure under the filters (see docs/analytics.md for what each means)."""
    require_role(actor, CLINIC_ROLES, "see clinic analytics")
    refresh(session, actor.clinic_id, ref=ref)
    cid = actor.clinic_id
    rules = responder_rules(ref.scales)
    responders = []
    for row in session.execute(responder_query(cid, f)):
        known = int(row.cycles) - int(row.unknown)
        rule = rules.get(row.scale)
        responders.append({
            "indication": row.indication, "product": row.product, "scale": row.scale,
            "cycles": int(row.cycles), "known": known, "responders": int(row.responders),
            "unknown": int(row.unknown),
            "rate_percent": round(100 * int(row.responders) / known, 1) if known else None,
            "rule": rule.describe() if rule else "no responder rule for this scale"})
    hist: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for row in session.execute(duration_query(cid, f)):
        hist[(row.indication, row.product)].append((row.duration_days, int(row.n)))
    durations = [{"indication": i, "product": p, "median_days": _median(h),
                  "cycles": sum(n for _, n in h)} for (i, p), h in sorted(hist.items())]
    counts = {(r.indication, r.product): int(r.cycles)
              for r in session.execute(cycle_count_query(cid, f))}
    effects = []
    for row in session.execute(side_effect_query(cid, f)):
        n = counts.get((row.indication, row.product), 0)
        label = _label_rate(ref, row.product, row.indication, row.term)
        effects.append({
            "indication": row.indication, "product": row.product, "term": row.term,
            "cycles_with": int(row.cycles), "cycles": n,
            "per_100_cycles": round(100 * int(row.cycles) / n, 1) if n else None,
            "label_percent": number(label[0]) if label else None,
            "label_source": label[1] if label else "no label rate"})
    effects.sort(key=lambda e: (e["indication"], e["product"], -(e["per_100_cycles"] or 0)))
    ihist: dict[str, list[tuple[int, int]]] = defaultdict(list)
    early: dict[str, int] = defaultdict(int)
    for row in session.execute(interval_query(cid, f)):
        ihist[row.indication].append((int(row.interval_days), int(row.n)))
        early[row.indication] += int(row.early or 0)
    intervals = []
    for ind, h in sorted(ihist.items()):
        pairs = sorted(h)
        intervals.append({"indication": ind, "intervals": sum(n for _, n in pairs),
                          "median_days": _median(pairs), "shortest_days": pairs[0][0],
                          "longest_days": pairs[-1][0], "before_safe_date": early[ind]})
    waste = [{"product": r.product, "month": r.month, "units_discarded": number(r.discarded),
              "units_opened": number(r.opened), "vials": int(r.vials)}
             for r in session.execute(waste_query(session, cid, f))]
    if audit_read:
        audit.record(session, actor, "read", "clinic_analytics", detail=f.describe())
    return {"filters": f.describe(), "query": f.as_query(),
            "cycles": sum(counts.values()),
            "cycles_by_group": [{"indication": i, "product": p, "cycles": n}
                                for (i, p), n in sorted(counts.items())],
            "responders": responders, "durations": durations, "side_effects": effects,
            "intervals": intervals, "waste": waste}


@use_case()
def clinicians(session: Session, actor: Actor) -> list[tuple[int, str]]:
    require_role(actor, CLINIC_ROLES, "see clinic analytics")
    return [(u.id, u.display_name or u.username) for u in session.scalars(
        select(User).where(User.clinic_id == actor.clinic_id, User.role == "clinician")
        .order_by(User.display_name))]
