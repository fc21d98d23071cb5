"""The clinic's vial log and lot search (issue 17 item 9).

A nurse opens a reconstituted vial (product, size, lot, expiry, when and by whom), draws
units from it into several patients' cycles, and closes it: the units left are discarded
(the JW modifier's amount; none discarded is JZ). A draw is refused into another product's
cycle (units are never mixed) or beyond the units left (naming the field); a draw after the
vial's expiry or after the label's use-within hours is a stop that only a clinician may
override, with a reason kept on the draw and audited (the plan check's pattern). Where the
reference data cites no use-within time for the product, the draw says "not checked".
Each draw is shown against its cycle's planned total (the units drawn from the log into that
cycle, same product only, and the sum of its injections); a draw that would take the drawn
total above the plan is the stop ``DRAW_ABOVE_PLAN`` (clinical/shared_vials.py), with the
figures in its words, overridable by a clinician with a reason like the others.
Nothing is deleted: a wrong draw or vial is marked entered in error with a reason.

"Which patients got lot X" searches the log's draws and the vials recorded on cycles, for
staff of the clinic only: the lot as typed first, then lots the same but for spaces and
hyphens, then lots starting with it, each row with the lot it matched (the CSV too).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.clinical import shared_vials
from bontrack.clinical.units import Units, format_amount
from bontrack.errors import AccessDenied, Conflict, InvalidRecord, NotFound
from bontrack.reference import Reference
from bontrack.reference.schema import Product
from bontrack.services import audit, given
from bontrack.services.access import CLINICAL_WRITERS, STAFF, Actor, require_role
from bontrack.services.records import check_version
from bontrack.services.schemas import (
    ClinicVialIn,
    EnteredInErrorIn,
    VialCloseIn,
    VialDrawIn,
    holds_id,
)
from bontrack.services.usecase import use_case
from bontrack.spreadsheet import safe
from bontrack.store.models import ClinicVial, Cycle, Patient, User, Vial, VialDraw

#: Only a clinician overrides a stop finding (as for a cycle's plan check).
OVERRIDERS = ("clinician",)
#: Rows a lot search answers at most (a recall of one lot in one clinic is far smaller).
MAX_LOT_ROWS = 5000
LOT_COLUMNS = ("source", "patient_id", "mrn", "patient", "cycle_id", "cycle_date",
               "cycle_status", "product", "lot", "match", "expiry", "units",
               "cycle_total_units", "drawn_at", "clinician", "vial_id")


def _n(x: Decimal | None) -> str | None:
    return None if x is None else format_amount(x)


def _t(x: datetime | None) -> str | None:
    return None if x is None else x.isoformat()


def _product(ref: Reference, name: str, field: str = "product") -> Product:
    pid = ref.product_id(name) if name not in ref.products else name
    product = ref.products.get(pid) if pid else None
    if product is None:
        raise InvalidRecord(f"{field}: {name!r} is not a product bontrack knows",
                            field=field)
    return product


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.display_name or u.username
            for u in session.scalars(select(User).where(User.id.in_(ids)))}


def _draws(session: Session, vial_id: int) -> list[VialDraw]:
    return list(session.scalars(select(VialDraw).where(VialDraw.vial_id == vial_id)
                                .order_by(VialDraw.id)))


def _drawn(draws: list[VialDraw]) -> Decimal:
    return sum((d.units for d in draws if d.status == "active"), Decimal(0))


def _cycle_drawn(session: Session, cycle_ids: set[int]) -> dict[int, Decimal]:
    """The units drawn from the log into each cycle: active draws from vials of the cycle's
    own product (units of another product are never added in), summed as Decimals."""
    out = {cid: Decimal(0) for cid in cycle_ids}
    if not cycle_ids:
        return out
    for cid, units in session.execute(
            select(VialDraw.cycle_id, VialDraw.units)
            .join(ClinicVial, ClinicVial.id == VialDraw.vial_id)
            .join(Cycle, Cycle.id == VialDraw.cycle_id)
            .where(VialDraw.cycle_id.in_(cycle_ids), VialDraw.status == "active",
                   ClinicVial.status != "entered_in_error",
                   ClinicVial.product == Cycle.product)):
        out[cid] += units
    return out


def _plans(session: Session, cycle_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each cycle's units drawn from the log against its planned total (the sum of its
    injections), as the vial's draws and the cycle chooser show them."""
    if not cycle_ids:
        return {}
    drawn = _cycle_drawn(session, cycle_ids)
    out: dict[int, dict[str, Any]] = {}
    for cid, product, total in session.execute(
            select(Cycle.id, Cycle.product, Cycle.total_units).where(Cycle.id.in_(cycle_ids))):
        c = shared_vials.against_plan(Units(product, total), Units(product, drawn[cid]))
        out[cid] = {"cycle_planned_units": _n(c.planned.amount),
                    "cycle_drawn_units": _n(c.drawn.amount), "cycle_plan": c.status,
                    "cycle_left_to_draw_units": _n(c.left.amount),
                    "cycle_above_plan_units": _n(c.above.amount), "cycle_plan_text": c.text}
    return out


def vial_view(session: Session, v: ClinicVial, ref: Reference, draws: list[VialDraw],
              now: datetime) -> dict[str, Any]:
    """A vial of the log with its draws, units left and use-within time (or "not checked");
    each draw with its cycle's units drawn from the log against the cycle's plan."""
    product = ref.products.get(v.product)
    cited = shared_vials.use_within(product, ref) if product else None
    until = shared_vials.use_by(product, v.reconstituted_at) if product else None
    drawn = _drawn(draws)
    names = _names(session, {v.reconstituted_by, *(d.drawn_by for d in draws),
                             *(d.error_by for d in draws if d.error_by)})
    patients = {p.id: p for p in session.scalars(
        select(Patient).where(Patient.id.in_({d.patient_id for d in draws})))} if draws else {}
    plans = _plans(session, {d.cycle_id for d in draws})
    if cited is None:
        use_text = ("Use-within time not checked: bontrack's reference data holds no cited "
                    f"time after reconstitution for {product.brands[0] if product else v.product}.")
    else:
        use_text = (f"{format_amount(cited[0])} hours after reconstitution ({cited[1]}: "
                    f"\"{cited[2]}\")")
    return {
        "id": v.id, "product": v.product,
        "product_name": product.brands[0] if product else v.product,
        "size_units": _n(v.size_units), "diluent_ml": _n(v.diluent_ml), "lot": v.lot,
        "expiry": v.expiry.isoformat(), "reconstituted_at": _t(v.reconstituted_at),
        "reconstituted_by": v.reconstituted_by,
        "reconstituted_by_name": names.get(v.reconstituted_by, ""), "note": v.note,
        "status": v.status, "use_within_checked": cited is not None,
        "use_within_hours": _n(cited[0]) if cited else None, "use_within": use_text,
        "use_by": _t(until), "past_use_by": bool(until and now > until),
        "expired": v.expiry < now.date(),
        "units_drawn": _n(drawn), "units_remaining": _n(v.size_units - drawn),
        "units_discarded": _n(v.units_discarded),
        "billing_modifier": shared_vials.billing_modifier(v.units_discarded),
        "closed_at": _t(v.closed_at), "closed_by": v.closed_by,
        "error_reason": v.error_reason, "error_at": _t(v.error_at),
        "version": v.version,
        "draws": [{
            "id": d.id, "cycle_id": d.cycle_id, "patient_id": d.patient_id,
            "mrn": patients[d.patient_id].mrn if d.patient_id in patients else "",
            "patient": (patients[d.patient_id].display_name if d.patient_id in patients
                        else ""),
            "units": _n(d.units), "drawn_at": _t(d.drawn_at), "drawn_by": d.drawn_by,
            "drawn_by_name": names.get(d.drawn_by, ""), "time_check": d.time_check,
            "time_check_text": d.time_check_text,
            "override_codes": [c for c in d.override_codes.split(",") if c],
            "override_reason": d.override_reason, "status": d.status,
            "error_reason": d.error_reason, "error_by": d.error_by,
            "error_at": _t(d.error_at), "version": d.version,
            **plans.get(d.cycle_id, {})} for d in draws],
    }


def _vial(session: Session, actor: Actor, vial_id: int, lock: bool = False) -> ClinicVial:
    """The clinic's vial; another clinic's is "not found"."""
    if not holds_id(vial_id):
        raise NotFound(f"vial {vial_id} not found")
    q = select(ClinicVial).where(ClinicVial.id == vial_id)
    if lock:
        q = q.with_for_update()
    v = session.scalar(q)
    if v is None or v.clinic_id != actor.clinic_id:
        raise NotFound(f"vial {vial_id} not found")
    return v


@use_case()
def open_vial(session: Session, actor: Actor, body: ClinicVialIn, ref: Reference
              ) -> dict[str, Any]:
    """Add a reconstituted vial to the clinic's log (nurses and clinicians)."""
    require_role(actor, CLINICAL_WRITERS, "open vials")
    product = _product(ref, body.product)
    sizes = sorted({s.size_units for s in product.vials})
    if body.size_units not in sizes:
        listed = ", ".join(format_amount(s) for s in sizes)
        raise InvalidRecord(f"size_units: {product.brands[0]} is supplied in {listed} unit "
                            f"vials, not {format_amount(body.size_units)}",
                            field="size_units")
    if body.expiry < body.reconstituted_at.date():
        raise InvalidRecord(f"expiry: the vial expired on {body.expiry.isoformat()}, before it "
                            f"was reconstituted ({body.reconstituted_at:%Y-%m-%d}); "
                            "an expired vial is not opened", field="expiry")
    now = audit.now()
    v = ClinicVial(clinic_id=actor.clinic_id, product=product.id, size_units=body.size_units,
                   diluent_ml=body.diluent_ml, lot=body.lot, expiry=body.expiry,
                   reconstituted_at=body.reconstituted_at, reconstituted_by=actor.user_id,
                   note=body.note, status="open", created_by=actor.user_id, created_at=now,
                   version=1)
    session.add(v)
    session.flush()
    audit.record(session, actor, "create", "clinic_vial", v.id,
                 detail=f"{product.id} {format_amount(v.size_units)} U lot {v.lot}")
    return vial_view(session, v, ref, [], now)


@use_case()
def vial_log(session: Session, actor: Actor, ref: Reference, status: str | None = "open",
             limit: int = 100) -> dict[str, Any]:
    """The clinic's vials, newest first: open ones by default, ``all`` for every status."""
    require_role(actor, STAFF, "read the vial log")
    q = select(ClinicVial).where(ClinicVial.clinic_id == actor.clinic_id)
    if status not in (None, "all"):
        if status not in ("open", "closed", "entered_in_error"):
            raise InvalidRecord(f"status: {status!r} is not open, closed, entered_in_error "
                                "or all", field="status")
        q = q.where(ClinicVial.status == status)
    vials = list(session.scalars(q.order_by(ClinicVial.id.desc()).limit(limit)))
    now = audit.now()
    by_vial: dict[int, list[VialDraw]] = {v.id: [] for v in vials}
    if vials:
        for d in session.scalars(select(VialDraw).where(VialDraw.vial_id.in_(by_vial))
                                 .order_by(VialDraw.id)):
            by_vial[d.vial_id].append(d)
    audit.record(session, actor, "read", "vial_log", detail=f"status {status}")
    return {"status": status or "all",
            "items": [vial_view(session, v, ref, by_vial[v.id], now) for v in vials]}


@use_case()
def get_vial(session: Session, actor: Actor, vial_id: int, ref: Reference) -> dict[str, Any]:
    require_role(actor, STAFF, "read the vial log")
    v = _vial(session, actor, vial_id)
    audit.record(session, actor, "read", "clinic_vial", v.id)
    return vial_view(session, v, ref, _draws(session, v.id), audit.now())


@use_case()
def draw(session: Session, actor: Actor, vial_id: int, body: VialDrawIn, ref: Reference
         ) -> dict[str, Any]:
    """Draw units from an open vial into a cycle of the clinic (see the module docstring
    for what is refused and what a clinician may override)."""
    require_role(actor, CLINICAL_WRITERS, "draw from vials")
    v = _vial(session, actor, vial_id, lock=True)  # one draw at a time per vial
    if v.status != "open":
        raise Conflict(f"vial {v.id} is {v.status.replace('_', ' ')}; draw from an open vial",
                       field="vial_id")
    # the cycle locked too: two vials drawn into one cycle at once are compared in turn
    cycle = (session.scalar(select(Cycle).where(Cycle.id == body.cycle_id).with_for_update())
             if holds_id(body.cycle_id) else None)
    if cycle is None or cycle.clinic_id != actor.clinic_id:
        raise InvalidRecord(f"cycle_id: cycle {body.cycle_id} not found in this clinic",
                            field="cycle_id")
    if cycle.status == "entered_in_error":
        raise InvalidRecord(f"cycle_id: cycle {cycle.id} is entered in error",
                            field="cycle_id")
    product = _product(ref, v.product)
    mixed = shared_vials.product_refusal(product, cycle.product, ref)
    if mixed:
        raise InvalidRecord(mixed, field="cycle_id")
    at = body.drawn_at or audit.now()
    if at < v.reconstituted_at:
        raise InvalidRecord(f"drawn_at: {at:%Y-%m-%d %H:%M} UTC is before the vial was "
                            f"reconstituted ({v.reconstituted_at:%Y-%m-%d %H:%M} UTC)",
                            field="drawn_at")
    draws = _draws(session, v.id)
    over = shared_vials.capacity_refusal(v.size_units, _drawn(draws), body.units)
    if over:
        raise InvalidRecord(over, field="units")
    check, late = shared_vials.time_check(product, ref, v.lot, v.reconstituted_at, at)
    planned = Units(cycle.product, cycle.total_units)
    drawn_before = Units(cycle.product, _cycle_drawn(session, {cycle.id})[cycle.id])
    above = shared_vials.above_plan_stop(planned, drawn_before,
                                         Units(cycle.product, body.units),
                                         f"cycle {cycle.id} of {cycle.date.isoformat()}")
    stops = [s for s in (shared_vials.expiry_stop(product, ref, v.lot, v.expiry, at), late,
                         above) if s]
    if stops and not body.override_reason:
        words = " ".join(s.message for s in stops)
        raise InvalidRecord(f"{stops[0].field}: {words} A clinician may draw anyway with an "
                            "override_reason.", field=stops[0].field)
    if stops and actor.role not in OVERRIDERS:
        raise AccessDenied(f"a {actor.role} may not override "
                           f"{', '.join(s.code for s in stops)}: a clinician decides that",
                           entity="vial draw")
    status = shared_vials.OVERRIDDEN if late else check.status
    d = VialDraw(vial_id=v.id, cycle_id=cycle.id, patient_id=cycle.patient_id,
                 units=body.units, drawn_at=at, drawn_by=actor.user_id, time_check=status,
                 time_check_text=check.text,
                 override_codes=",".join(s.code for s in stops),
                 override_reason=body.override_reason if stops else None, status="active",
                 created_at=audit.now(), version=1)
    session.add(d)
    v.version += 1
    session.flush()
    plan = shared_vials.against_plan(planned, drawn_before + Units(cycle.product, d.units))
    audit.record(session, actor, "create", "vial_draw", d.id, cycle.patient_id,
                 detail=f"{format_amount(d.units)} U of {v.product} lot {v.lot} (vial {v.id}) "
                 f"into cycle {cycle.id}; cycle: {plan.text}"
                 + (f"; override {d.override_codes}: {d.override_reason}" if stops else ""))
    return vial_view(session, v, ref, [*draws, d], audit.now())


@use_case()
def close_vial(session: Session, actor: Actor, vial_id: int, body: VialCloseIn,
               if_match: int | None, ref: Reference) -> dict[str, Any]:
    """Close an open vial: the units left are recorded as discarded."""
    require_role(actor, CLINICAL_WRITERS, "close vials")
    v = _vial(session, actor, vial_id, lock=True)
    if v.status != "open":
        raise Conflict(f"vial {v.id} is {v.status.replace('_', ' ')}, not open",
                       field="status")
    check_version(v.version, if_match if if_match is not None else body.version,
                  f"vial {v.id}")
    draws = _draws(session, v.id)
    now = audit.now()
    v.status, v.closed_by, v.closed_at = "closed", actor.user_id, now
    v.units_discarded = v.size_units - _drawn(draws)
    if body.note:
        v.note = f"{v.note}\n{body.note}".strip()
    v.version += 1
    session.flush()
    audit.record(session, actor, "update", "clinic_vial", v.id,
                 detail=f"closed; {format_amount(v.units_discarded)} U discarded "
                 f"({shared_vials.billing_modifier(v.units_discarded)})")
    return vial_view(session, v, ref, draws, now)


@use_case()
def vial_in_error(session: Session, actor: Actor, vial_id: int, body: EnteredInErrorIn,
                  if_match: int | None, ref: Reference) -> dict[str, Any]:
    """Mark a vial entered in error (a vial logged by mistake): refused while it has
    active draws, which are marked first (each says whose cycle it was)."""
    require_role(actor, CLINICAL_WRITERS, "mark vials entered in error")
    v = _vial(session, actor, vial_id, lock=True)
    if v.status == "entered_in_error":
        raise Conflict(f"vial {v.id} is already entered in error", field="status")
    check_version(v.version, if_match if if_match is not None else body.version,
                  f"vial {v.id}")
    draws = _draws(session, v.id)
    if _drawn(draws) > 0:
        raise Conflict(f"vial {v.id} has active draws; mark each wrong draw entered in error "
                       "first", field="status")
    v.status, v.error_reason, v.error_by, v.error_at = ("entered_in_error", body.reason,
                                                        actor.user_id, audit.now())
    v.version += 1
    session.flush()
    audit.record(session, actor, "entered_in_error", "clinic_vial", v.id, detail=body.reason)
    return vial_view(session, v, ref, draws, audit.now())


@use_case()
def draw_in_error(session: Session, actor: Actor, draw_id: int, body: EnteredInErrorIn,
                  if_match: int | None, ref: Reference) -> dict[str, Any]:
    """Mark a wrong draw entered in error, with a reason: it is kept, its units count as
    left in the vial again (or, for a closed vial, as discarded)."""
    require_role(actor, CLINICAL_WRITERS, "mark draws entered in error")
    d = session.get(VialDraw, draw_id) if holds_id(draw_id) else None
    if d is None:
        raise NotFound(f"vial draw {draw_id} not found")
    v = _vial(session, actor, d.vial_id, lock=True)
    if d.status == "entered_in_error":
        raise Conflict(f"vial draw {d.id} is already entered in error", field="status")
    check_version(d.version, if_match if if_match is not None else body.version,
                  f"vial draw {d.id}")
    d.status, d.error_reason, d.error_by, d.error_at = ("entered_in_error", body.reason,
                                                        actor.user_id, audit.now())
    d.version += 1
    draws = _draws(session, v.id)
    if v.status == "closed":
        v.units_discarded = v.size_units - _drawn(draws)
    v.version += 1
    session.flush()
    audit.record(session, actor, "entered_in_error", "vial_draw", d.id, d.patient_id,
                 detail=body.reason)
    return vial_view(session, v, ref, draws, audit.now())


@use_case()
def open_cycles(session: Session, actor: Actor, product: str, since: datetime,
                limit: int = 100) -> list[dict[str, Any]]:
    """The clinic's cycles of ``product`` dated from ``since`` (the day a vial was
    reconstituted) to tomorrow: what a nurse chooses from when drawing."""
    require_role(actor, CLINICAL_WRITERS, "draw from vials")
    rows = session.execute(
        select(Cycle.id, Cycle.date, Cycle.total_units, Cycle.status, Patient.mrn,
               Patient.display_name)
        .join(Patient, Patient.id == Cycle.patient_id)
        .where(Cycle.clinic_id == actor.clinic_id, Cycle.product == product,
               Cycle.status != "entered_in_error", Cycle.date >= since.date(),
               Cycle.date <= given.today() + timedelta(days=1))
        .order_by(Cycle.date, Patient.mrn, Cycle.id).limit(limit)).all()
    plans = _plans(session, {r.id for r in rows})
    return [{"id": r.id, "date": r.date.isoformat(), "total_units": _n(r.total_units),
             "status": r.status, "mrn": r.mrn, "patient": r.display_name, **plans[r.id]}
            for r in rows]


def _lot_key(column: Any) -> Any:
    """``shared_vials.lot_key`` in SQL (the same on SQLite and PostgreSQL)."""
    for ch in shared_vials.LOT_IGNORED:
        column = func.replace(column, ch, "")
    return func.upper(column)


@use_case()
def lot_search(session: Session, actor: Actor, lot: str, product: str | None,
               ref: Reference, match: str = "all") -> dict[str, Any]:
    """Which patients got lot ``lot`` (of ``product``): every active draw from the vial log
    and every vial recorded on a cycle of the clinic with that lot. ``match`` ``all``: the
    lot as typed (letter case and spaces around ignored), then lots that are the same once
    spaces and hyphens are ignored, then lots that start with it, each row saying which lot
    it matched and how (``shared_vials.lot_match``; a ``%`` or ``_`` in the search is a
    character, never a wildcard); ``exact``: the lot as typed only. Cycles and draws entered
    in error are left out. Staff only."""
    require_role(actor, STAFF, "search lots")
    wanted = lot.strip()
    if not wanted or len(wanted) > 64:
        raise InvalidRecord("lot: give the lot number as printed on the vial (1 to 64 "
                            "characters)", field="lot")
    key = shared_vials.lot_key(wanted)
    if not key:
        raise InvalidRecord(f"lot: {wanted!r} has no letter or digit; give the lot number as "
                            "printed on the vial", field="lot")
    if match not in ("all", "exact"):
        raise InvalidRecord(f"match: {match!r} is not all or exact", field="match")
    pid = _product(ref, product).id if product else None
    clinician = User.display_name

    def how(found: str) -> str:
        # SQL's upper() and Python's can differ outside ASCII: a row the database matched is
        # kept, said to match as the query asked (the lot as typed, or by its start)
        return shared_vials.lot_match(wanted, found) or (
            shared_vials.EXACT if match == "exact" else shared_vials.PREFIX)

    def lot_is(column: Any) -> Any:
        if match == "exact":
            return func.upper(func.trim(column)) == wanted.upper()
        # every kind of match starts with the key once both are compared loosely
        return _lot_key(column).startswith(key, autoescape=True)

    log_q = (select(VialDraw.units, VialDraw.drawn_at, VialDraw.vial_id, ClinicVial.product,
                    ClinicVial.lot, ClinicVial.expiry, Cycle.id.label("cycle_id"),
                    Cycle.date, Cycle.status, Cycle.total_units, Patient.id.label("pid"),
                    Patient.mrn, Patient.display_name, clinician.label("clinician"),
                    User.username)
             .join(ClinicVial, ClinicVial.id == VialDraw.vial_id)
             .join(Cycle, Cycle.id == VialDraw.cycle_id)
             .join(Patient, Patient.id == Cycle.patient_id)
             .join(User, User.id == Cycle.clinician_id)
             .where(ClinicVial.clinic_id == actor.clinic_id, lot_is(ClinicVial.lot),
                    VialDraw.status == "active", ClinicVial.status != "entered_in_error",
                    Cycle.status != "entered_in_error"))
    cyc_q = (select(Vial.size_units, Vial.expiry, Vial.lot, Cycle.product,
                    Cycle.id.label("cycle_id"), Cycle.date, Cycle.status, Cycle.total_units,
                    Patient.id.label("pid"), Patient.mrn, Patient.display_name,
                    clinician.label("clinician"), User.username)
             .join(Cycle, Cycle.id == Vial.cycle_id)
             .join(Patient, Patient.id == Cycle.patient_id)
             .join(User, User.id == Cycle.clinician_id)
             .where(Cycle.clinic_id == actor.clinic_id, lot_is(Vial.lot),
                    Cycle.status != "entered_in_error"))
    if pid:
        log_q = log_q.where(ClinicVial.product == pid)
        cyc_q = cyc_q.where(Cycle.product == pid)
    log_rows = session.execute(log_q.limit(MAX_LOT_ROWS + 1)).all()
    cyc_rows = session.execute(cyc_q.limit(MAX_LOT_ROWS + 1)).all()
    if len(log_rows) + len(cyc_rows) > MAX_LOT_ROWS:
        # never a recall list cut short without saying so
        raise InvalidRecord(f"lot: more than {MAX_LOT_ROWS} records match {wanted!r}; give "
                            "more of the lot number" + (" or search the exact lot only"
                                                        if match == "all" else ""),
                            field="lot")
    items: list[dict[str, Any]] = []
    for r in log_rows:
        items.append({"source": "vial_log", "patient_id": r.pid, "mrn": r.mrn,
                      "patient": r.display_name, "cycle_id": r.cycle_id,
                      "cycle_date": r.date.isoformat(), "cycle_status": r.status,
                      "product": r.product, "lot": r.lot,
                      "match": how(r.lot),
                      "expiry": r.expiry.isoformat(),
                      "units": _n(r.units), "cycle_total_units": _n(r.total_units),
                      "drawn_at": _t(r.drawn_at), "clinician": r.clinician or r.username,
                      "vial_id": r.vial_id})
    for c in cyc_rows:
        # a cycle's own vial records no units drawn from it: the cycle's total stands
        items.append({"source": "cycle_vial", "patient_id": c.pid, "mrn": c.mrn,
                      "patient": c.display_name, "cycle_id": c.cycle_id,
                      "cycle_date": c.date.isoformat(), "cycle_status": c.status,
                      "product": c.product, "lot": c.lot,
                      "match": how(c.lot),
                      "expiry": c.expiry.isoformat() if c.expiry else None, "units": None,
                      "cycle_total_units": _n(c.total_units), "drawn_at": None,
                      "clinician": c.clinician or c.username, "vial_id": None})
    rank = {m: n for n, m in enumerate(shared_vials.LOT_MATCHES)}
    items.sort(key=lambda x: (rank[x["match"]], x["lot"].upper(), x["lot"], x["cycle_date"],
                              x["mrn"], x["cycle_id"], x["source"]))
    lots: dict[str, dict[str, Any]] = {}
    for i in items:
        seen = lots.setdefault(i["lot"], {"lot": i["lot"], "match": i["match"], "rows": 0,
                                          "patient_ids": set()})
        seen["rows"] += 1
        seen["patient_ids"].add(i["patient_id"])
    matched = [{"lot": x["lot"], "match": x["match"], "rows": x["rows"],
                "patients": len(x["patient_ids"])} for x in lots.values()]
    widened = any(m["match"] != shared_vials.EXACT for m in matched)
    patients = len({i["patient_id"] for i in items})
    audit.record(session, actor, "read", "lot_search",
                 detail=f"lot {wanted}" + (f" of {pid}" if pid else "") + f", match {match}"
                 + f": {len(items)} rows, {patients} patients"
                 + (f"; lots {', '.join(m['lot'] for m in matched)}" if widened else ""))
    return {"lot": wanted, "product": pid, "match": match, "total": len(items),
            "patients": patients, "lots": matched,
            "widened": widened, "items": items}


def lot_csv(found: dict[str, Any]) -> tuple[str, str]:
    """The lot search as a CSV file for a recall: (file name, text). Every cell passes
    through ``bontrack.spreadsheet.safe``: a lot, name or MRN typed as ``=...`` opens in a
    spreadsheet as text, never as a formula."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(LOT_COLUMNS)
    for row in found["items"]:
        w.writerow([safe(row[c]) for c in LOT_COLUMNS])
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in found["lot"])[:64]
    return f"lot-{name}.csv", buf.getvalue()
