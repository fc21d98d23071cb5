"""Patient search over a real database (SQLite and PostgreSQL): the trigram index gives the
same answers as the scan it replaces (compared with a plain Python "contains" over every
patient), pages walked by cursor, the bounded count, the clinic boundary, and the index kept
current by inserts, renames and bulk inserts."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, text

from bontrack.errors import InvalidRecord
from bontrack.services import accounts, patient_search, records
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade
from bontrack.store.models import Patient
from bontrack.store.search_index import FTS_TABLE

NOW = datetime(2026, 11, 1, tzinfo=UTC)
PASSWORD = "correct horse battery"
NAMES = ["Alex Synthetic", "Sam Example", "Maria Sanchez-Oro", "MARIANNE Holt",
         "Jo O'Brien", 'Ann "Nan" Lee', "Percy 100% Test", "Under_Score Person",
         "Back\\Slash Smith", "Zoë Ångström", "Ben Ari", "Li Na", "Arianna Bari"]
TERMS = ["a", "ar", "ari", "ARI", "maria", "sanchez-o", "o'b", '"nan"', "100%", "%",
         "_", "r_s", "\\", "\\slash", "mrn-00", "mrn-0012", "MRN-0012", "mrn-001", "x-0",
         "zzz", "  holt  ", "li na", "e a", "ngstr", "zoë", "ö", "", "Ari Bar"]


def _row(clinic_id: int, mrn: str, name: str) -> dict[str, object]:
    return {"clinic_id": clinic_id, "mrn": mrn, "display_name": name,
            "birth_date": date(1960, 1, 1), "sex": "female", "flags": [], "medications": [],
            "status": "active", "version": 1, "record_version": 1, "created_at": NOW,
            "updated_at": NOW}


@pytest.fixture
def registry(db_url):
    """Clinic A: 13 names x 3 MRN spellings (bulk-inserted, as the demo and imports do);
    clinic B: the same names, which A must never see."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        a = accounts.get_or_create_clinic(s, "Clinic A")
        b = accounts.get_or_create_clinic(s, "Clinic B")
        doc = accounts.add_user(s, clinic=a, username="doc", password=PASSWORD,
                                role="clinician")
        rows = [_row(a.id, f"{prefix}-{i + 1:04d}", name)
                for prefix in ("MRN", "mrn", "X") for i, name in enumerate(NAMES)]
        rows += [_row(b.id, f"MRN-{i + 1:04d}", name) for i, name in enumerate(NAMES)]
        s.execute(insert(Patient.__table__), rows)
        actor = accounts.actor_of(doc)
        a_id = a.id
    yield sessions, actor, a_id, engine.dialect.name
    engine.dispose()


def _expected(sessions, clinic_id: int, q: str, dialect: str) -> list[int]:
    """What a scan answers: the text anywhere in the MRN or the name, case-insensitively
    (SQLite's LIKE folds ASCII letters only; PostgreSQL's ILIKE folds every letter)."""
    def fold(x: str) -> str:
        return x.lower() if dialect == "postgresql" else \
            "".join(c.lower() if c.isascii() else c for c in x)

    term = fold(q.strip())
    with sessions() as s:
        everyone = s.execute(text("SELECT id, mrn, display_name FROM patients "
                                  "WHERE clinic_id = :c ORDER BY id"), {"c": clinic_id}).all()
    return [pid for pid, mrn, name in everyone if term in fold(mrn) or term in fold(name)]


def _search(sessions, actor, q, limit=200, offset=0, cursor=None):
    with transaction(sessions) as s:
        page = records.search_patients(s, actor, q, limit, offset, cursor)
        return [p.id for p in page.rows], page


def test_answers_are_those_of_a_scan(registry):
    sessions, actor, clinic_id, dialect = registry
    for q in TERMS:
        got, page = _search(sessions, actor, q)
        assert got == _expected(sessions, clinic_id, q, dialect), q
        assert page.total == len(got) and page.total_exact and not page.more, q
        assert page.next_cursor is None


def test_the_trigram_index_answers_on_sqlite(registry):
    """On SQLite a text of three characters or more is looked up in the FTS5 table (its
    query plan names it); a shorter one is a scan that stops when the page is full."""
    sessions, _actor, clinic_id, dialect = registry
    with sessions() as s:
        if dialect == "sqlite":
            stmt, _order = patient_search._matching(s, clinic_id, "maria")
            compiled = stmt.compile(s.get_bind())
            params = tuple(compiled.params[k] for k in compiled.positiontup or ())
            plan = " ".join(str(r[-1]) for r in s.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(compiled), params))
            assert FTS_TABLE in plan, plan
        else:
            names = set(s.scalars(text("SELECT indexname FROM pg_indexes "
                                       "WHERE tablename = 'patients'")))
            assert {"ix_patients_mrn_trgm", "ix_patients_display_name_trgm"} <= names


def test_pages_by_cursor_walk_every_match_once(registry):
    sessions, actor, clinic_id, dialect = registry
    want = _expected(sessions, clinic_id, "a", dialect)
    seen, cursor = [], None
    while True:
        ids, page = _search(sessions, actor, "a", limit=4, cursor=cursor)
        seen += ids
        assert page.total == len(want)
        if page.next_cursor is None:
            assert not page.more
            break
        assert page.more and page.next_cursor == str(ids[-1])
        cursor = page.next_cursor
    assert seen == want
    # offset paging still works and agrees
    assert _search(sessions, actor, "a", limit=4, offset=4)[0] == want[4:8]


def test_count_is_bounded(registry, monkeypatch):
    sessions, actor, clinic_id, dialect = registry
    monkeypatch.setattr(patient_search, "COUNT_LIMIT", 5)
    _ids, page = _search(sessions, actor, "", limit=3)
    assert page.total == 5 and not page.total_exact and page.more
    _ids, page = _search(sessions, actor, "holt", limit=2)
    assert page.total == len(_expected(sessions, clinic_id, "holt", dialect)) == 3
    assert page.total_exact


def test_another_clinic_is_never_searched(registry):
    sessions, actor, clinic_id, _ = registry
    ids, _page = _search(sessions, actor, "MRN-0001")
    with sessions() as s:
        clinics = set(s.scalars(text(f"SELECT clinic_id FROM patients WHERE id IN "
                                     f"({','.join(map(str, ids))})")))
    assert clinics == {clinic_id}
    assert len(ids) == 2  # MRN-0001 and mrn-0001 of clinic A, not B's MRN-0001


def test_the_index_follows_renames_and_new_patients(registry):
    sessions, actor, _clinic_id, _dialect = registry
    from bontrack.reference import default_reference
    from bontrack.services.schemas import PatientIn, PatientPatch

    ref = default_reference()
    with transaction(sessions) as s:
        p = records.create_patient(s, actor, PatientIn(
            mrn="NEW-77", display_name="Quentin Quarrel", birth_date="1970-01-01"), ref)
        pid = p.id
    assert _search(sessions, actor, "quarrel")[0] == [pid]
    with transaction(sessions) as s:
        records.update_patient(s, actor, pid, PatientPatch(display_name="Quentin Placid"),
                               1, ref)
    assert _search(sessions, actor, "quarrel")[0] == []
    assert _search(sessions, actor, "placid")[0] == [pid]
    assert _search(sessions, actor, "new-77")[0] == [pid]


def test_a_bad_cursor_is_refused_naming_the_field(registry):
    sessions, actor, _, _ = registry
    for cursor in ["x", "-1", "1.5", "99999999999999999999", "١٢"]:
        with pytest.raises(InvalidRecord) as e:
            _search(sessions, actor, "a", cursor=cursor)
        assert e.value.field == "cursor"
    with pytest.raises(InvalidRecord) as e:
        _search(sessions, actor, "a", offset=4, cursor="3")
    assert e.value.field == "offset"


def test_a_rare_name_is_found_through_the_trigram_index_on_postgresql(db_url):
    """With the search's planner settings PostgreSQL reads the trigram index's candidates
    for a rare name, never the primary key in id order (issue 16 item 7). On the bench's
    100,000 patients PostgreSQL guessed ~2 % of patients match any text and, left to
    itself, walked the primary key hoping to stop early: 66 ms for a name 150 patients
    have (docs/benchmarks.md). At this test's size it happens to choose the index
    unaided, so this test holds the settings' effect, and the bench measures the case."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's planner (SQLite orders the FTS5 join by rowid)")
    engine = make_engine(db_url)
    upgrade(engine)
    with transaction(session_factory(engine)) as s:
        clinic = accounts.get_or_create_clinic(s, "Clinic A")
        rng = random.Random(16)
        syllables = ("an", "bel", "cor", "da", "el", "fen", "gar", "ha", "is", "jo", "ka",
                     "lin", "mar", "ne", "or", "pa", "ra", "sol", "ta", "ul", "ve", "wen")

        def word() -> str:
            return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).title()

        # names as varied as a real clinic's, so the planner has no statistics to go on
        rows = [_row(clinic.id, f"{i:08d}", f"{word()} {word()}") for i in range(20_000)]
        rows += [_row(clinic.id, f"R{i:07d}", "Quillonaire Rare") for i in range(5)]
        s.execute(insert(Patient.__table__), rows)
        clinic_id = clinic.id
    with engine.begin() as c:
        c.exec_driver_sql("ANALYZE patients")
    with transaction(session_factory(engine)) as s:
        matching, order = patient_search._matching(s, clinic_id, "quillon")
        query = patient_search.first_ids(matching, order, 50).compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        for setting in patient_search.plan_settings("postgresql", "quillon"):
            s.execute(text(setting))
        plan = "\n".join(s.scalars(text(f"EXPLAIN {query}")))
        ids = list(s.scalars(text(str(query))))
    engine.dispose()
    assert "ix_patients_display_name_trgm" in plan, plan
    assert "Index Scan using pk_patients" not in plan, plan
    assert len(ids) == 5
    assert patient_search.plan_settings("sqlite", "quillon") == []
    assert patient_search.plan_settings("postgresql", "qu") == [
        "SET LOCAL plan_cache_mode = force_custom_plan"]
