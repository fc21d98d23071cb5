"""Issue 15 item 2: on PostgreSQL the server runs as a role that cannot alter tables or the
audit trail's triggers. `bontrack db app-role` (run as the owner) grants row rights only;
as that role the application works, while ALTER, DROP TRIGGER, TRUNCATE and deleting audit
events all fail."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from bontrack.services import accounts
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database
from tests.conftest import fresh_database


@pytest.fixture
def owner_and_app(tmp_path):
    url, drop = fresh_database("postgresql", tmp_path)
    engine = sa.create_engine(url)
    upgrade(engine)
    role = f"bt_app_{uuid.uuid4().hex[:10]}"
    with engine.begin() as c:
        c.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
    engine.dispose()
    app_url = sa.engine.make_url(url).set(username=role).render_as_string(hide_password=False)
    yield url, app_url, role
    drop()
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
    admin.dispose()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           *args], capture_output=True, text=True, timeout=300)


def refused(app_url: str, statement: str) -> str:
    engine = sa.create_engine(app_url)
    try:
        with engine.begin() as c, pytest.raises(sa.exc.DBAPIError) as err:
            c.exec_driver_sql(statement)
        return str(err.value.orig)
    finally:
        engine.dispose()


def test_the_app_role_writes_rows_but_cannot_change_the_schema_or_the_audit_trail(
        owner_and_app):
    owner_url, app_url, role = owner_and_app
    before = refused(app_url, "SELECT count(*) FROM patients")
    assert "permission denied" in before  # nothing until granted
    done = cli("db", "app-role", role, "--db", owner_url)
    assert done.returncode == 0, done.stderr
    assert "TRUNCATE" not in done.stdout and "TRIGGER" not in done.stdout
    db = Database.at(app_url)  # the application, as the app role
    try:
        with db.unit_of_work() as uow:
            made = accounts.add_user_to_clinic(uow, "North", username="dr.role",
                                               password="a long enough passphrase 42",
                                               role="clinician")
        with db.unit_of_work() as uow:
            token, _ = accounts.sign_in(uow, "dr.role", "a long enough passphrase 42")
        assert made["username"] == "dr.role" and token
    finally:
        db.dispose()
    assert "must be owner" in refused(app_url, "ALTER TABLE patients ADD COLUMN x int")
    assert "must be owner" in refused(
        app_url, "DROP TRIGGER audit_events_no_change ON audit_events")
    assert "permission denied" in refused(app_url, "TRUNCATE audit_events")
    assert "append-only" in refused(app_url, "DELETE FROM audit_events").lower() or \
        "audit" in refused(app_url, "DELETE FROM audit_events").lower()
    assert "permission denied" in refused(app_url, "CREATE TABLE sneaky (id int)")


def test_app_role_on_sqlite_or_an_unknown_role_is_a_clean_error(owner_and_app, tmp_path):
    owner_url, _app_url, _role = owner_and_app
    unknown = cli("db", "app-role", "no_such_role_here", "--db", owner_url)
    assert unknown.returncode == 2 and "CREATE ROLE" in unknown.stderr
    bad = cli("db", "app-role", "Robert'); DROP TABLE patients;--", "--db", owner_url)
    assert bad.returncode == 2 and "plain PostgreSQL role name" in bad.stderr
    assert cli("init", "--db", f"sqlite:///{tmp_path / 'x.db'}").returncode == 0
    sqlite = cli("db", "app-role", "x", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert sqlite.returncode == 2 and "PostgreSQL feature" in sqlite.stderr
