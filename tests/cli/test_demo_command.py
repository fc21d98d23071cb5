"""`bontrack demo` and `bontrack users set-password` as processes: the port is checked
before anything is written, a database that holds the demo is served as it is (or recreated
with --reset), passwords are random per database and printed once, and passwords set by an
administrator must be changed."""

from __future__ import annotations

import random
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from tests.cli.test_databases import one_line_error, run
from tests.cli.test_usage import BONTRACK


def passwords(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\S+)\s+\S+\s+(\S{16})$", stdout, re.M))


def count(db: Path, table: str) -> int:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        n = c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return int(n or 0)


def busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for _ in range(50):
        port = random.randint(18000, 18999)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        sock.listen()
        return sock, port
    raise RuntimeError("no free port in 18000-18999")


def test_demo_on_a_busy_port_stops_before_seeding_anything(tmp_path):
    sock, port = busy_port()
    with sock:
        r = run("demo", "--patients", "2", "--port", str(port), "--db", "demo.db",
                cwd=tmp_path)
    assert r.returncode != 0
    one_line_error(r, f"127.0.0.1:{port}", "--port")
    assert "password" not in r.stdout and not (tmp_path / "demo.db").exists()


def test_a_second_demo_run_serves_the_same_demo_and_reset_recreates_it(tmp_path):
    first = run("demo", "--patients", "2", "--no-serve", "--db", "demo.db", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    pw1 = passwords(first.stdout)
    assert set(pw1) == {"admin", "dr.lee", "dr.okafor", "nurse.kim", "patient1"}
    patients = count(tmp_path / "demo.db", "patients")
    again = run("demo", "--patients", "2", "--no-serve", "--db", "demo.db", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already holds the demo clinic (2 patients)" in again.stdout
    assert not passwords(again.stdout) and count(tmp_path / "demo.db", "patients") == patients
    reset = run("demo", "--patients", "3", "--no-serve", "--reset", "--db", "demo.db",
                cwd=tmp_path)
    assert reset.returncode == 0, reset.stderr
    assert count(tmp_path / "demo.db", "patients") == 3
    pw2 = passwords(reset.stdout)
    assert set(pw2) == set(pw1) and not set(pw1.values()) & set(pw2.values())
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with engine.connect() as c:
        hashes = [h for (h,) in c.execute(sa.text("SELECT password_hash FROM users"))]
    engine.dispose()
    assert all(h.startswith("$argon2") for h in hashes)
    assert not any(p in h for h in hashes for p in pw2.values())


def test_demo_passwords_differ_between_databases_with_the_same_seed(tmp_path):
    a = run("demo", "--patients", "1", "--no-serve", "--db", "a.db", cwd=tmp_path)
    b = run("demo", "--patients", "1", "--no-serve", "--db", "b.db", cwd=tmp_path)
    pa, pb = passwords(a.stdout), passwords(b.stdout)
    assert pa and pb and not set(pa.values()) & set(pb.values())


def test_reset_refuses_a_database_that_holds_another_clinic(tmp_path):
    assert run("demo", "--patients", "1", "--no-serve", "--db", "d.db",
               cwd=tmp_path).returncode == 0
    assert run("users", "add", "dr.real", "--role", "clinician", "--clinic", "North",
               "--password", "quiet harbour lamp 7", "--db", "d.db",
               cwd=tmp_path).returncode == 0
    r = run("demo", "--no-serve", "--reset", "--db", "d.db", cwd=tmp_path)
    one_line_error(r, "--reset", "North")
    assert count(tmp_path / "d.db", "users") == 6


def test_demo_on_a_database_that_holds_it_serves_it_without_seeding(tmp_path):
    assert run("demo", "--patients", "1", "--no-serve", "--db", "d.db",
               cwd=tmp_path).returncode == 0
    sock, port = busy_port()
    sock.close()
    proc = subprocess.Popen([str(BONTRACK), "demo", "--db", "d.db", "--port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.3)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "already holds the demo clinic (1 patients)" in out and not passwords(out)
    assert count(tmp_path / "d.db", "patients") == 1


def test_users_set_password_reads_one_line_from_stdin_and_requires_a_change(tmp_path):
    assert run("init", "--db", "c.db", cwd=tmp_path).returncode == 0
    r = run("users", "add", "dr.new", "--role", "clinician", "--password",
            "quiet harbour lamp 7", "--db", "c.db", cwd=tmp_path)
    assert r.returncode == 0 and "changed at the first sign-in" in r.stdout
    r = subprocess.run([str(BONTRACK), "users", "set-password", "dr.new", "--db", "c.db"],
                       cwd=tmp_path, input="  amber kettle orbit 93  \n", capture_output=True,
                       text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.connect() as c:
        must, pw_hash = c.execute(sa.text(
            "SELECT must_change_password, password_hash FROM users")).one()
        actions = [a for (a,) in c.execute(sa.text(
            "SELECT action FROM audit_events WHERE entity = 'user'"))]
    engine.dispose()
    assert must and "set_password" in actions
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(pw_hash, "  amber kettle orbit 93  ")  # spaces kept
    for text, says in (("short\n", "at least 12"), ("", "no password")):
        r = subprocess.run([str(BONTRACK), "users", "set-password", "dr.new", "--db", "c.db"],
                           cwd=tmp_path, input=text, capture_output=True, text=True,
                           timeout=60, check=False)
        one_line_error(r, says)
    r = subprocess.run([str(BONTRACK), "users", "set-password", "nobody", "--db", "c.db"],
                       cwd=tmp_path, input="a fine long passphrase 12\n", capture_output=True,
                       text=True, timeout=60, check=False)
    one_line_error(r, "no user 'nobody'")
