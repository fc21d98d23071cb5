"""The recall list and bookings as use cases over real databases (SQLite and PostgreSQL):
a fixed number of queries whatever the number of patients, the clinic boundary, the
earliest safe date and its source, and bookings kept (never deleted) when they change."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, select

from bontrack.analytics.recall import recall_list
from bontrack.errors import AccessDenied, InvalidRecord
from bontrack.reference import default_reference
from bontrack.services import visits
from bontrack.services.access import Actor
from bontrack.services.schemas import VisitCancelIn, VisitChangeIn, VisitIn
from bontrack.store.models import Cycle, Patient, User, Visit
from bontrack.store.uow import Database
from tests.api.conftest import _template, copy_database

TODAY = date.today()
NOW = datetime.now(UTC)
REF = default_reference()


@pytest.fixture(params=["sqlite", "postgresql"])
def clinic(request, tmp_path_factory, tmp_path):
    """The API's seeded template (two clinics, users of every role), copied."""
    template_url, ids, _tokens = _template(request.param, tmp_path_factory)
    url, drop = copy_database(template_url, request.param, tmp_path)
    db = Database.at(url)
    with db.unit_of_work() as uow:
        users = {u.username: Actor(u.id, u.clinic_id, u.role, u.username, u.patient_id)
                 for u in uow.session.scalars(select(User))}
    yield db, users, ids
    db.dispose()
    drop()


def _given(db: Database, clinic_id: int, doc: int, n: int, first_mrn: int) -> None:
    """``n`` patients of the clinic, bulk-inserted, each with three given cycles 120 and 130
    days apart, the last 150 days ago (as the demo and imports insert)."""
    with db.unit_of_work() as uow:
        s = uow.session
        s.execute(insert(Patient), [{
            "clinic_id": clinic_id, "mrn": f"R-{first_mrn + i}", "display_name": f"Recall {i}",
            "birth_date": date(1960, 1, 1), "sex": "female", "flags": [], "medications": [],
            "status": "active", "version": 1, "record_version": 1, "created_at": NOW,
            "updated_at": NOW} for i in range(n)])
        pids = s.scalars(select(Patient.id).where(Patient.mrn.like("R-%"),
                                                  Patient.clinic_id == clinic_id)
                          .order_by(Patient.id)).all()
        rows = []
        for pid in pids[-n:]:
            for back in (400, 280, 150):
                day = TODAY - timedelta(days=back)
                rows.append({"patient_id": pid, "clinic_id": clinic_id, "date": day,
                             "product": "onabotulinumtoxinA",
                             "indication": "upper_limb_spasticity", "clinician_id": doc,
                             "total_units": Decimal(150), "status": "signed",
                             "verdict": "ok", "reference_version": "test",
                             "next_earliest_date": day + timedelta(weeks=12),
                             "signed_by": doc, "signed_at": NOW, "version": 1,
                             "created_by": doc, "created_at": NOW, "updated_at": NOW,
                             "consent_recorded": True, "consent_text": "", "note": "",
                             "provenance": ""})
        s.execute(insert(Cycle), rows)
        uow.commit()


def _queries(db: Database, actor: Actor) -> tuple[int, dict]:
    seen: list[str] = []
    me = threading.get_ident()

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        # this thread's only: the audit chainer's thread reads the same engine after every
        # audited commit, and on a loaded machine its pass fell inside the count
        if statement.lstrip().upper().startswith("SELECT") and threading.get_ident() == me:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.unit_of_work() as uow:
            out = recall_list(uow, actor, REF, TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen), out


def test_the_recall_list_reads_a_fixed_number_of_queries_whatever_the_patients(clinic):
    db, users, _ids = clinic
    doc = users["doc"]
    _given(db, doc.clinic_id, doc.user_id, 5, 0)
    _queries(db, doc)  # the projection's first build
    few, out = _queries(db, doc)
    assert out["total"] == 5
    _given(db, doc.clinic_id, doc.user_id, 150, 100)
    _queries(db, doc)
    many, out = _queries(db, doc)
    assert out["total"] == 155 and many == few, (few, many)
    row = out["items"][0]
    assert row["expected_date"] == (TODAY - timedelta(days=30)).isoformat()
    assert row["status"] == "overdue" and "median 120 days of 2 intervals" in row["basis"]
    # another clinic's staff see none of them; a patient sees no list
    assert _queries(db, users["doc_b"])[1]["items"] == []
    with db.unit_of_work() as uow, pytest.raises(AccessDenied):
        recall_list(uow, users["pat"], REF, TODAY)


def test_bookings_check_the_earliest_safe_date_and_keep_their_history(clinic):
    db, users, ids = clinic
    doc, nurse = users["doc"], users["nurse"]
    _given(db, doc.clinic_id, doc.user_id, 1, 900)
    with db.unit_of_work() as uow:
        pid = uow.session.scalar(select(Patient.id).where(Patient.mrn == "R-900"))
        v = visits.visits(uow, nurse, pid, REF)
    assert v["earliest_date"] == (TODAY - timedelta(days=150 - 84)).isoformat()
    assert "12 weeks after the cycle of" in v["earliest_source"] and "rev." in \
        v["earliest_source"]
    with db.unit_of_work() as uow, pytest.raises(InvalidRecord) as err:
        visits.book_visit(uow, nurse, pid, VisitIn(
            visit_date=TODAY - timedelta(days=1), clinician_id=doc.user_id), REF)
    assert err.value.field == "visit_date"
    with db.unit_of_work() as uow:
        first = visits.book_visit(uow, nurse, pid, VisitIn(
            visit_date=TODAY + timedelta(days=3), clinician_id=doc.user_id), REF)
    with db.unit_of_work() as uow:
        moved = visits.reschedule_visit(uow, nurse, pid, VisitChangeIn(
            visit_date=TODAY + timedelta(days=9), reason="room booked"), 1, REF)
    with db.unit_of_work() as uow:
        visits.cancel_visit(uow, doc, pid, VisitCancelIn(reason="patient unwell"), 1)
    with db.unit_of_work() as uow:
        rows = uow.session.scalars(select(Visit).where(Visit.patient_id == pid)
                                   .order_by(Visit.id)).all()
        assert [(r.id, r.status) for r in rows] == [(first["id"], "replaced"),
                                                     (moved["id"], "cancelled")]
        assert rows[0].uid == rows[1].uid and rows[1].sequence == 1
        assert rows[1].ended_reason == "patient unwell"
    _ = ids
