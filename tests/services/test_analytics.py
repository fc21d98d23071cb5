"""Clinic and patient analytics over a real database (SQLite and PostgreSQL): hand-counted
figures on a small clinic, filters, role rules, and the derived rows kept current."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import sessionmaker

from bontrack import analytics
from bontrack.errors import AccessDenied, InvalidRecord
from bontrack.reference import default_reference
from bontrack.services import accounts, audit
from bontrack.services.access import Actor
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade
from bontrack.store.models import (
    Cycle,
    DiaryEntry,
    Injection,
    Outcome,
    Patient,
    SideEffect,
    Vial,
)
from bontrack.store.uow import Database

REF = default_reference()
NOW = datetime(2026, 11, 1, tzinfo=UTC)
D = date(2026, 1, 5)
PASSWORD = "correct horse battery"


def _cycle(s, patient, doc, day, units, product="onabotulinumtoxinA",
           indication="upper_limb_spasticity", discarded=Decimal(0), status="signed"):
    c = Cycle(patient_id=patient.id, clinic_id=patient.clinic_id, date=day, product=product,
              indication=indication, clinician_id=doc.id, total_units=Decimal(units),
              consent_recorded=True, consent_text="", note="", status=status,
              verdict="ok", reference_version="test",
              next_earliest_date=day + timedelta(weeks=12), signed_by=doc.id, signed_at=NOW,
              version=1, created_by=doc.id, created_at=NOW, updated_at=NOW)
    c.injections = [Injection(muscle="biceps_brachii", side="left", units=Decimal(units),
                              sites=2)]
    c.vials = [Vial(size_units=Decimal(200), units_discarded=discarded, recorded_by=doc.id)]
    s.add(c)
    s.flush()
    return c


def _mas(s, patient, doc, day, value, cycle=None):
    s.add(Outcome(patient_id=patient.id, cycle_id=cycle.id if cycle else None,
                  scale="modified_ashworth", value=Decimal(value), value_text=value,
                  muscle="biceps_brachii", side="left",
                  measured_at=datetime.combine(day, time(10), tzinfo=UTC),
                  recorded_by=doc.id, status="active"))


def _patient(s, clinic, mrn):
    p = Patient(clinic_id=clinic.id, mrn=mrn, display_name=f"Synthetic {mrn}",
                birth_date=date(1960, 1, 1), sex="female", flags=[], medications=[],
                status="active", version=1, created_at=NOW, updated_at=NOW)
    s.add(p)
    s.flush()
    return p


@pytest.fixture
def clinic(db_url):
    """Clinic A: patient P1 with three cycles (responder, responder, non-responder), a
    dysphagia report after cycle 1 and 40 U discarded in cycle 2; patient P2 with one
    cycle of another product and no baseline. Clinic B: one patient (never counted)."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    ids = {}
    with transaction(sessions) as s:
        a = accounts.get_or_create_clinic(s, "Clinic A")
        b = accounts.get_or_create_clinic(s, "Clinic B")
        doc = accounts.add_user(s, clinic=a, username="doc", password=PASSWORD,
                                role="clinician")
        nurse = accounts.add_user(s, clinic=a, username="nurse", password=PASSWORD,
                                  role="nurse")
        doc_b = accounts.add_user(s, clinic=b, username="doc_b", password=PASSWORD,
                                  role="clinician")
        p1, p2, pb = _patient(s, a, "P1"), _patient(s, a, "P2"), _patient(s, b, "PB")
        pat = accounts.add_user(s, clinic=a, username="pat", password=PASSWORD,
                                role="patient", patient_id=p1.id)
        days = [D, D + timedelta(days=100), D + timedelta(days=200)]
        c1 = _cycle(s, p1, doc, days[0], 100)
        c2 = _cycle(s, p1, doc, days[1], 100, discarded=Decimal(40))
        _cycle(s, p1, doc, days[2], 120)
        # cycle 1: 3 -> 1+ (2 steps), back to 3 at day 84; cycle 2: 3 -> 2, back at 90;
        # cycle 3: 3 -> 3 (not a responder)
        for day, value in [(0, "3"), (30, "1.5"), (84, "3"), (100, "3"), (130, "2"),
                           (190, "3"), (200, "3"), (230, "3")]:
            _mas(s, p1, doc, D + timedelta(days=day), value)
        s.add(SideEffect(patient_id=p1.id, cycle_id=c1.id, term="Dysphagia",
                         onset=D + timedelta(days=5), severity="mild", serious=False,
                         outcome="recovered", relatedness="possibly_related", red_flags=[],
                         reported_by=doc.id, reported_at=NOW, status="active"))
        s.add(SideEffect(patient_id=p1.id, cycle_id=c2.id, term="Bruising",
                         onset=D + timedelta(days=105), severity="mild", serious=False,
                         outcome="recovered", relatedness="possibly_related", red_flags=[],
                         reported_by=doc.id, reported_at=NOW, status="active"))
        _cycle(s, p2, doc, D + timedelta(days=10), 300, product="abobotulinumtoxinA",
               discarded=Decimal(100))
        _mas(s, p2, doc, D + timedelta(days=40), "2")  # after the injection only
        _cycle(s, pb, doc_b, D, 100)
        ids.update(doc=doc.id, nurse=nurse.id, pat=pat.id, p1=p1.id, p2=p2.id, a=a.id,
                   b=b.id, c2=c2.id)
        actors = {u.username: accounts.actor_of(u) for u in (doc, nurse, doc_b, pat)}
    yield sessions, ids, actors
    engine.dispose()


def run(sessions: sessionmaker, actor: Actor, **filters):
    with transaction(sessions) as s:
        f = analytics.read_filters(s, actor, REF, filters)
        return analytics.clinic_analytics(s, actor, REF, f)


def test_counts_responders_per_indication_product_and_scale(clinic):
    sessions, _, actors = clinic
    out = run(sessions, actors["doc"])
    rows = {(r["product"], r["scale"]): r for r in out["responders"]}
    botox = rows[("onabotulinumtoxinA", "modified_ashworth")]
    assert (botox["cycles"], botox["known"], botox["responders"]) == (3, 3, 2)
    assert botox["rate_percent"] == pytest.approx(66.7)
    dysport = rows[("abobotulinumtoxinA", "modified_ashworth")]
    assert (dysport["known"], dysport["unknown"], dysport["rate_percent"]) == (0, 1, None)


def test_median_duration_of_benefit_per_indication_and_product(clinic):
    sessions, _, actors = clinic
    out = run(sessions, actors["doc"])
    (d,) = [r for r in out["durations"] if r["product"] == "onabotulinumtoxinA"]
    assert (d["cycles"], d["median_days"]) == (2, 84)  # 84 and 90 days: lower median


def test_side_effects_per_100_cycles_next_to_the_label_rate(clinic):
    sessions, _, actors = clinic
    out = run(sessions, actors["doc"])
    rows = {r["term"]: r for r in out["side_effects"]}
    assert rows["dysphagia"]["cycles"] == 3
    assert rows["dysphagia"]["per_100_cycles"] == pytest.approx(33.3)
    assert rows["bruising"]["label_percent"] is None
    assert rows["bruising"]["label_source"] == "no label rate"
    # the label data has no upper-limb dysphagia rate either: never borrowed from another
    # indication
    assert rows["dysphagia"]["label_source"] == "no label rate" or \
        rows["dysphagia"]["label_percent"] is not None


def test_intervals_and_waste_per_product_and_month(clinic):
    sessions, _, actors = clinic
    out = run(sessions, actors["doc"])
    (i,) = out["intervals"]
    assert (i["intervals"], i["median_days"], i["before_safe_date"]) == (2, 100, 0)
    waste = {(w["product"], w["month"]): w["units_discarded"] for w in out["waste"]}
    assert waste[("onabotulinumtoxinA", (D + timedelta(days=100)).strftime("%Y-%m"))] == 40
    assert waste[("abobotulinumtoxinA", "2026-01")] == 100


def test_filters_narrow_every_figure(clinic):
    sessions, _, actors = clinic
    out = run(sessions, actors["doc"], product="Dysport")
    assert out["cycles"] == 1 and {r["product"] for r in out["waste"]} == {
        "abobotulinumtoxinA"}
    out = run(sessions, actors["doc"], **{"from": (D + timedelta(days=50)).isoformat()})
    assert out["cycles"] == 2
    out = run(sessions, actors["doc"], clinician="doc", indication="cervical dystonia")
    assert out["cycles"] == 0 and out["responders"] == []


@pytest.mark.parametrize("filters,field", [
    ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"),
    ({"from": "2026-05-01", "to": "2026-01-01"}, "from"),
    ({"indication": "toothache"}, "indication"), ({"product": "Botax"}, "product"),
    ({"clinician": "nobody"}, "clinician"), ({"colour": "red"}, "colour")])
def test_bad_filters_are_refused_naming_the_field(clinic, filters, field):
    sessions, _, actors = clinic
    with pytest.raises(InvalidRecord) as err:
        run(sessions, actors["doc"], **filters)
    assert err.value.field == field


@pytest.mark.parametrize("who", ["nurse", "pat"])
def test_only_clinic_leads_and_clinicians_see_clinic_analytics(clinic, who):
    sessions, _, actors = clinic
    with pytest.raises(AccessDenied):
        run(sessions, actors[who])


def test_another_clinic_sees_only_its_own_cycles(clinic):
    sessions, _, actors = clinic
    out = run(sessions, actors["doc_b"])
    assert out["cycles"] == 1 and out["side_effects"] == []


def test_derived_rows_follow_a_change_to_the_record(clinic):
    sessions, ids, actors = clinic
    run(sessions, actors["doc"])
    with transaction(sessions) as s:
        p2 = s.get(Patient, ids["p2"])
        _mas(s, p2, s.get(Patient, ids["p1"]), D + timedelta(days=9), "3")  # a baseline
        s.flush()
        audit.record(s, actors["doc"], "create", "outcome", None, p2.id)
    out = run(sessions, actors["doc"])
    rows = {(r["product"], r["scale"]): r for r in out["responders"]}
    assert rows[("abobotulinumtoxinA", "modified_ashworth")]["responders"] == 1
    with transaction(sessions) as s:
        assert analytics.refresh(s, ids["a"]) == 0  # nothing stale


def test_patient_analytics_shows_response_per_cycle_doses_and_window(clinic):
    sessions, ids, actors = clinic
    with transaction(sessions) as s:
        out = analytics.patient_analytics(s, actors["pat"], ids["p1"], REF)
    (series,) = out["series"]
    assert [c["responder"] for c in series["cycles"]] == [True, True, False]
    assert [c["duration_days"] for c in series["cycles"]] == [84, 90, None]
    assert series["typical_duration_days"] == 84
    window = out["next_window"]
    last = D + timedelta(days=200)
    assert window["start"] == (last + timedelta(weeks=12)).isoformat()  # clamped
    assert window["end"] == (last + timedelta(days=90)).isoformat()
    # cycles 2 and 3 improved less (1 and 0 steps) than cycle 1 (2 steps) at >= 100 U
    assert series["waning"]["warn"] is True
    (dose,) = out["doses"]
    assert [p["units"] for p in dose["points"]] == [100, 100, 120]


def test_a_diary_entry_saying_it_wore_off_ends_the_benefit(clinic):
    sessions, ids, actors = clinic
    with transaction(sessions) as s:
        s.add(DiaryEntry(patient_id=ids["p1"], entry_date=D + timedelta(days=60),
                         note="The injection wore off today", created_by=ids["pat"],
                         created_at=NOW, status="active"))
        s.flush()
        out = analytics.patient_analytics(s, actors["doc"], ids["p1"], REF)
    first = out["series"][0]["cycles"][0]
    assert (first["duration_days"], first["duration_kind"]) == (60, "diary")


def test_another_clinic_cannot_read_a_patients_analytics(clinic):
    from bontrack.errors import NotFound

    sessions, ids, actors = clinic
    with transaction(sessions) as s, pytest.raises(NotFound):
        analytics.patient_analytics(s, actors["doc_b"], ids["p1"], REF)


def test_demo_registry_gives_figures_for_every_demo_indication(db_url):
    from bontrack.demo.generator import generate

    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    generate(Database(engine), patients=40, seed=3)
    with transaction(sessions) as s:
        from sqlalchemy import select

        from bontrack.store.models import User

        doc = s.scalar(select(User).where(User.username == "dr.lee"))
        actor = accounts.actor_of(doc)
    out = run(sessions, actor)
    assert out["cycles"] > 100
    assert any(r["rate_percent"] for r in out["responders"])
    assert out["durations"] and out["intervals"]
    engine.dispose()
