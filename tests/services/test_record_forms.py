"""The use cases behind the web forms of issue 17, on SQLite and PostgreSQL: the outcome
grid saves every row or none, a condition is changed or marked entered in error (never
deleted), the names of the people on a record stay within the reader's clinic."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from bontrack.errors import AccessDenied, InvalidRecord, NotFound
from bontrack.reference import default_reference
from bontrack.services import accounts, conditions, outcome_grid, planning, records
from bontrack.services.schemas import ConditionIn, ConditionPatch, OutcomeIn, WeightIn
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade
from bontrack.store.models import Condition, Outcome, Patient
from bontrack.store.uow import Database

REF = default_reference()
NOW = datetime(2026, 11, 1, 10, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def clinic(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        a = accounts.get_or_create_clinic(s, "Clinic A")
        b = accounts.get_or_create_clinic(s, "Clinic B")
        nurse = accounts.add_user(s, clinic=a, username="nurse", password=PASSWORD,
                                  role="nurse")
        doc_b = accounts.add_user(s, clinic=b, username="doc_b", password=PASSWORD,
                                  role="clinician")
        p = Patient(clinic_id=a.id, mrn="G1", display_name="Synthetic G1",
                    birth_date=date(1960, 1, 1), sex="female", flags=[], medications=[],
                    status="active", version=1, created_at=NOW, updated_at=NOW)
        s.add(p)
        s.flush()
        actors = {u.username: accounts.actor_of(u) for u in (nurse, doc_b)}
        ids = {"p": p.id, "nurse": nurse.id, "doc_b": doc_b.id}
    yield sessions, ids, actors, Database(engine)
    engine.dispose()


def _row(value: str, muscle: str = "biceps_brachii", side: str = "left") -> OutcomeIn:
    return OutcomeIn(scale="modified_ashworth", value=value, measured_at=NOW, muscle=muscle,
                     side=side)


def test_outcome_grid_saves_every_row_together(clinic):
    sessions, ids, actors, *_ = clinic
    with transaction(sessions) as s:
        saved = outcome_grid.add_outcomes(s, actors["nurse"], ids["p"],
                                          [_row("1+"), _row("2", "brachialis")], REF)
        assert [o.value_text for o in saved] == ["1+", "2"]


def test_a_refused_row_refuses_the_whole_grid_naming_its_index(clinic):
    sessions, ids, actors, db = clinic
    with db.unit_of_work() as uow:  # as the web calls it: the first row must not stay
        with pytest.raises(InvalidRecord) as err:
            outcome_grid.add_outcomes(uow, actors["nurse"], ids["p"],
                                      [_row("1+"), _row("5", "brachialis")], REF)
        records.add_weight(uow, actors["nurse"], ids["p"],
                           WeightIn(measured_on=date(2026, 10, 1), weight_kg=70))
    assert err.value.field == "outcomes.1.value" and "1+" in err.value.message
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Outcome)) == 0


def test_an_empty_grid_is_refused(clinic):
    sessions, ids, actors, *_ = clinic
    with transaction(sessions) as s, pytest.raises(InvalidRecord):
        outcome_grid.add_outcomes(s, actors["nurse"], ids["p"], [], REF)


def test_a_condition_is_changed_and_marked_entered_in_error_never_deleted(clinic):
    sessions, ids, actors, *_ = clinic
    with transaction(sessions) as s:
        c = records.add_condition(s, actors["nurse"], ids["p"],
                                  ConditionIn(indication="upper_limb_spasticity"), REF)
        cid = c.id
    with transaction(sessions) as s:
        conditions.update_condition(s, actors["nurse"], cid, ConditionPatch(
            icd10cm="I69.331", affected_side="right", note="after a stroke"), ids["p"])
    with transaction(sessions) as s:
        c = s.get(Condition, cid)
        assert (c.icd10cm, c.affected_side, c.note) == ("I69.331", "right", "after a stroke")
        conditions.update_condition(s, actors["nurse"], cid,
                                    ConditionPatch(entered_in_error=True, note=c.note))
    with transaction(sessions) as s:
        assert s.get(Condition, cid).status == "entered_in_error"


def test_another_clinics_condition_or_another_patients_is_not_found(clinic):
    sessions, ids, actors, *_ = clinic
    with transaction(sessions) as s:
        cid = records.add_condition(s, actors["nurse"], ids["p"],
                                    ConditionIn(indication="cervical_dystonia"), REF).id
    with transaction(sessions) as s, pytest.raises((NotFound, AccessDenied)):
        conditions.update_condition(s, actors["doc_b"], cid, ConditionPatch(note="x"))
    with transaction(sessions) as s, pytest.raises(NotFound):
        conditions.update_condition(s, actors["nurse"], cid, ConditionPatch(note="x"),
                                    ids["p"] + 1)


def test_names_on_a_record_are_only_of_the_readers_clinic(clinic):
    sessions, ids, actors, *_ = clinic
    with transaction(sessions) as s:
        names = planning.user_names(s, actors["nurse"], {ids["nurse"], ids["doc_b"], None})
    assert names == {ids["nurse"]: "nurse (nurse)"}
