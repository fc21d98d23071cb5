"""Which database a command opens: `--db` and DATABASE_URL take a file path or a URL;
commands that need data refuse a database that does not exist (one line, exit 2) and create
nothing; only `init`, `db upgrade`, `serve` and `demo` create one."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bontrack.config import database_url
from tests.cli.test_usage import BONTRACK
from tests.conftest import PG_ADMIN_URL, fresh_database

NEEDS_DATA = [
    ("users", "list"),
    ("users", "disable", "nobody"),
    ("users", "add", "dr.new", "--role", "nurse", "--password", "x"),
    ("users", "set-password", "nobody"),
    ("audit", "verify"),
    ("audit", "show", "--patient", "1"),
    ("report", "patient", "1", "--as", "dr.lee"),
    ("fhir", "export", "--patient", "1"),
    ("export", "csv", "out"),
    ("backup", "copy.bin"),
]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base["XDG_DATA_HOME"] = str(cwd / "xdg")  # the default location, inside the test
    base["HOME"] = str(cwd / "home")
    return subprocess.run([str(BONTRACK), *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=cwd, input="",
                          env={**base, **(env or {})})


def one_line_error(r: subprocess.CompletedProcess[str], *says: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("bontrack: error: ") and len(r.stderr.strip().splitlines()) == 1
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    for s in says:
        assert s in r.stderr, r.stderr


def test_a_plain_path_means_a_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert database_url("clinic.db") == f"sqlite:///{tmp_path / 'clinic.db'}"
    assert database_url("/srv/bt/clinic.db") == "sqlite:////srv/bt/clinic.db"
    assert database_url("~/clinic.db") == f"sqlite:///{Path.home() / 'clinic.db'}"
    assert database_url("sqlite:///~/c.db") == f"sqlite:///{Path.home() / 'c.db'}"
    assert database_url("postgresql://u@h/n") == "postgresql+psycopg://u@h/n"
    assert database_url("postgres://u@h/n") == "postgresql+psycopg://u@h/n"
    monkeypatch.setenv("DATABASE_URL", "other.db")
    assert database_url() == f"sqlite:///{tmp_path / 'other.db'}"
    assert database_url("clinic.db") == f"sqlite:///{tmp_path / 'clinic.db'}"


@pytest.mark.parametrize("args", NEEDS_DATA, ids=" ".join)
def test_commands_that_need_data_refuse_a_missing_database_and_create_nothing(tmp_path, args):
    (tmp_path / "home").mkdir()
    r = run(*args, "--db", "clinic.db", cwd=tmp_path)
    one_line_error(r, f"no database at {tmp_path / 'clinic.db'}", "bontrack init")
    r = run(*args, cwd=tmp_path)  # no --db: the default location
    one_line_error(r, "no database at", "bontrack init")
    r = run(*args, cwd=tmp_path, env={"DATABASE_URL": "~/clinic.db"})
    one_line_error(r, f"no database at {tmp_path / 'home' / 'clinic.db'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    assert not any((tmp_path / "home").iterdir())


def test_init_creates_a_database_by_relative_path_that_the_other_commands_then_use(tmp_path):
    (tmp_path / "home").mkdir()
    r = run("init", "--db", "clinic.db", cwd=tmp_path)
    assert r.returncode == 0 and "database ready" in r.stdout, r.stderr
    r = run("users", "add", "dr.new", "--role", "clinician", "--password",
            "quiet harbour lamp 7", "--db", "clinic.db", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run("users", "list", cwd=tmp_path, env={"DATABASE_URL": str(tmp_path / "clinic.db")})
    assert "dr.new" in r.stdout
    r = run("users", "list", "--db", f"sqlite:///{tmp_path / 'clinic.db'}", cwd=tmp_path)
    assert "dr.new" in r.stdout


def test_a_file_that_is_not_a_bontrack_database_is_refused_untouched(tmp_path):
    (tmp_path / "notes.db").write_text("not a database\n")
    one_line_error(run("users", "list", "--db", "notes.db", cwd=tmp_path),
                   "file is not a database")
    assert (tmp_path / "notes.db").read_text() == "not a database\n"
    sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}").connect().close()
    one_line_error(run("audit", "verify", "--db", "other.db", cwd=tmp_path),
                   "not a bontrack database")


def test_init_in_a_folder_that_does_not_exist_is_one_line(tmp_path):
    one_line_error(run("init", "--db", "no/such/folder/c.db", cwd=tmp_path), "does not exist")
    assert not (tmp_path / "no").exists()


def test_init_without_db_creates_the_default_database(tmp_path):
    r = run("init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "xdg" / "bontrack" / "bontrack.db").is_file()
    assert run("users", "list", cwd=tmp_path).returncode == 0


def test_a_postgresql_database_that_does_not_exist_is_one_line(tmp_path):
    fresh_database("postgresql", tmp_path)[1]()  # skips unless PostgreSQL runs
    missing = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/bt_missing_{uuid.uuid4().hex[:8]}"
    for args in (("users", "list"), ("init",), ("serve", "--port", "18977"),
                 ("restore", "x.bin")):
        one_line_error(run(*args, "--db", missing, cwd=tmp_path), "does not exist",
                       "createdb")


def test_a_postgresql_server_that_cannot_be_reached_is_one_line(tmp_path):
    down = "postgresql://postgres@127.0.0.1:1/test"
    for args in (("users", "list"), ("init",), ("audit", "verify")):
        one_line_error(run(*args, "--db", down, cwd=tmp_path), "cannot open the database")


def test_a_postgresql_database_without_the_schema_is_refused_then_initialised(tmp_path):
    url, drop = fresh_database("postgresql", tmp_path)
    try:
        one_line_error(run("users", "list", "--db", url, cwd=tmp_path),
                       "holds no bontrack schema", "bontrack init")
        assert run("init", "--db", url, cwd=tmp_path).returncode == 0
        assert run("users", "list", "--db", url, cwd=tmp_path).returncode == 0
    finally:
        drop()
