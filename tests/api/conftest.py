"""An API over a real, migrated database (SQLite and PostgreSQL), with users of every role
in two clinics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bontrack.api.app import create_app
from bontrack.services import accounts
from bontrack.services.access import Actor
from bontrack.services.records import create_patient
from bontrack.services.schemas import PatientIn
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.migrate import upgrade

PASSWORD = "correct horse battery"


@dataclass
class Api:
    client: TestClient
    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def h(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def get(self, who: str, path: str, **kw: Any):
        return self.client.get(path, headers=self.h(who, **kw.pop("headers", {})), **kw)

    def post(self, who: str, path: str, json: Any = None, **kw: Any):
        return self.client.post(path, json=json, headers=self.h(who, **kw.pop("headers", {})),
                                **kw)

    def patch(self, who: str, path: str, json: Any = None, **kw: Any):
        return self.client.patch(path, json=json, headers=self.h(who, **kw.pop("headers", {})),
                                 **kw)

    def put(self, who: str, path: str, json: Any = None, **kw: Any):
        return self.client.put(path, json=json, headers=self.h(who, **kw.pop("headers", {})),
                               **kw)


def seed(url: str) -> dict[str, int]:
    engine = make_engine(url)
    upgrade(engine)
    ids: dict[str, int] = {}
    with transaction(session_factory(engine)) as s:
        a = accounts.get_or_create_clinic(s, "Clinic A")
        b = accounts.get_or_create_clinic(s, "Clinic B")
        users = {}
        for name, role, clinic in [("admin", "admin", a), ("doc", "clinician", a),
                                   ("doc2", "clinician", a), ("nurse", "nurse", a),
                                   ("doc_b", "clinician", b)]:
            users[name] = accounts.add_user(s, clinic=clinic, username=name, password=PASSWORD,
                                            role=role)
        actor_a = accounts.actor_of(users["doc"])
        actor_b = accounts.actor_of(users["doc_b"])
        from bontrack.reference import default_reference

        ref = default_reference()
        p1 = create_patient(s, actor_a, PatientIn(mrn="A-1", display_name="Alex Synthetic",
                                                  birth_date="1960-04-02", sex="female",
                                                  weight_kg=70), ref)
        p2 = create_patient(s, actor_a, PatientIn(mrn="A-2", display_name="Sam Example",
                                                  birth_date="2016-05-01", sex="male",
                                                  weight_kg=24), ref)
        # weights dated before every test cycle (creation records today's date)
        from datetime import date as _date

        from bontrack.services.records import add_weight
        from bontrack.services.schemas import WeightIn

        for pid, kg in ((p1.id, 70), (p2.id, 24)):
            add_weight(s, actor_a, pid, WeightIn(measured_on=_date(2026, 1, 1), weight_kg=kg))
        pb = create_patient(s, actor_b, PatientIn(mrn="B-1", display_name="Kim Other",
                                                  birth_date="1970-01-01"), ref)
        s.flush()
        accounts.add_user(s, clinic=a, username="pat", password=PASSWORD, role="patient",
                          patient_id=p1.id)
        accounts.add_user(s, clinic=a, username="pat2", password=PASSWORD, role="patient",
                          patient_id=p2.id)
        ids.update(p1=p1.id, p2=p2.id, pb=pb.id, doc=users["doc"].id)
        _ = Actor
    engine.dispose()
    return ids


TEMPLATES: dict[str, tuple[str, dict[str, int], dict[str, str]]] = {}


def _template(kind: str, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[str, dict[str, int], dict[str, str]]:
    """A migrated, seeded database with signed-in tokens, built once per test session and
    copied for each test (argon2 hashing and migrations are the slow part)."""
    if kind not in TEMPLATES:
        from tests.conftest import fresh_database

        url, _drop = fresh_database(kind, tmp_path_factory.mktemp("template"))
        ids = seed(url)
        tokens: dict[str, str] = {}
        app = create_app(url)
        with TestClient(app) as client:
            for who in ("admin", "doc", "doc2", "nurse", "doc_b", "pat", "pat2"):
                r = client.post("/api/v1/auth/token",
                                json={"username": who, "password": PASSWORD})
                assert r.status_code == 200, r.text
                tokens[who] = r.json()["access_token"]
        app.state.bontrack.db.dispose()
        TEMPLATES[kind] = (url, ids, tokens)
    return TEMPLATES[kind]


def copy_database(template_url: str, kind: str, tmp_path) -> tuple[str, Any]:
    """A copy of the template whose signed-in sessions were last used now: the template is
    built once per run, and a run longer than the idle limit would otherwise find its
    tokens ended (every test after minute 30 answered 401)."""
    url, drop = _copy(template_url, kind, tmp_path)
    _sessions_used_now(url)
    return url, drop


def _sessions_used_now(url: str) -> None:
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from bontrack.store.models import ApiToken

    engine = make_engine(url)
    try:
        with engine.begin() as c:
            c.execute(sa.update(ApiToken).values(last_used_at=datetime.now(UTC)))
    finally:
        engine.dispose()


def _copy(template_url: str, kind: str, tmp_path) -> tuple[str, Any]:
    if kind == "sqlite":
        import shutil

        source = template_url.removeprefix("sqlite:///")
        target = tmp_path / "copy.db"
        shutil.copy(source, target)
        return f"sqlite:///{target}", lambda: None
    import uuid

    import sqlalchemy as sa

    from tests.conftest import PG_ADMIN_URL

    name = f"bt_{uuid.uuid4().hex[:12]}"
    template = template_url.rsplit("/", 1)[1]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tmp_path):
    kind = request.param
    _clear_view_caches()
    template_url, ids, tokens = _template(kind, tmp_path_factory)
    url, drop = copy_database(template_url, kind, tmp_path)
    app = create_app(url)
    with TestClient(app) as client:
        yield Api(client=client, url=url, ids=dict(ids), tokens=dict(tokens))
    app.state.bontrack.db.dispose()
    drop()


@pytest.fixture
def web(api):
    """Signed-in browsers-without-a-browser (TestClient with cookies) per user, on the whole
    application (API and pages) over the same database."""
    from bontrack.app import create_app as create_whole_app

    app = create_whole_app(api.url)
    clients: dict[str, TestClient] = {}

    def as_user(who: str) -> TestClient:
        if who not in clients:
            c = TestClient(app, follow_redirects=False)
            c.get("/login")
            r = c.post("/login", data={"username": who, "password": PASSWORD,
                                       "csrf": c.cookies.get("bt_csrf")})
            assert r.status_code == 303, r.text
            clients[who] = c
        return clients[who]

    yield as_user
    app.state.bontrack.db.dispose()


def _clear_view_caches() -> None:
    """The view caches live in the process and are keyed by patient id and record version:
    every test copies the same template database, so one test's cached view could answer
    for another test's patient of the same id and version."""
    from bontrack.services.timeline import CACHE
    from bontrack.web.analytics_pages import CLINIC, PATIENT
    from bontrack.web.pages import CHARTS, NEXT_DATES

    for cache in (CACHE, PATIENT, CHARTS, CLINIC, NEXT_DATES):
        with cache.lock:
            cache.items.clear()


def uls_cycle(**over: Any) -> dict[str, Any]:
    """A valid adult upper-limb BOTOX cycle (within every cited limit)."""
    body: dict[str, Any] = {
        "date": "2026-11-24",
        "product": "onabotulinumtoxinA",
        "indication": "upper_limb_spasticity",
        "injections": [
            {"muscle": "biceps_brachii", "side": "left", "units": 100, "sites": 3},
            {"muscle": "brachioradialis", "side": "left", "units": 50, "sites": 2},
        ],
        "vials": [{"size_units": 200, "diluent_ml": 4, "lot": "C1", "expiry": "2027-06-30"}],
        "consent_recorded": True,
        "consent_text": "Benefits and risks discussed.",
    }
    body.update(over)
    return body


@pytest.fixture(scope="session", autouse=True)
def _drop_templates():
    yield
    import sqlalchemy as sa

    from tests.conftest import PG_ADMIN_URL

    for kind, (url, _, _) in TEMPLATES.items():
        if kind != "postgresql":
            continue
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        admin.dispose()
