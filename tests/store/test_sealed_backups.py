"""Issue 15 item 8: sealed (encrypted) backups and private files. A backup sealed with a key
file or a passphrase restores identically on SQLite and PostgreSQL; a wrong key, a changed,
reordered or truncated backup is refused and nothing is restored; the database, backups and
the command line's files are created 0600."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bontrack.errors import BontrackError
from bontrack.store import sealed
from bontrack.store.backup import backup, restore
from tests.conftest import fresh_database
from tests.store.test_backup_and_cli import demo_db, dump

PASSPHRASE = "correct horse battery staple 7"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           *args], capture_output=True, text=True, timeout=300)


def restored_url(db_url: str, tmp_path: Path) -> tuple[str, object]:
    url, drop = fresh_database("postgresql" if "postgresql" in db_url else "sqlite",
                               tmp_path / "restored")
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    return url, drop


def test_a_sealed_backup_restores_identically_with_its_key(db_url, tmp_path):
    demo_db(db_url)
    key = tmp_path / "backup.key"
    assert cli("backup-key", str(key)).returncode == 0
    assert mode(key) == 0o600
    made = cli("backup", str(tmp_path / "b.sealed"), "--encrypt", "--key-file", str(key),
               "--db", db_url)
    assert made.returncode == 0, made.stderr
    body = (tmp_path / "b.sealed").read_bytes()
    assert body.startswith(sealed.MAGIC) and mode(tmp_path / "b.sealed") == 0o600
    assert b"patients" not in body and b"CREATE TABLE" not in body  # nothing readable
    target, drop = restored_url(db_url, tmp_path)
    try:
        done = cli("restore", str(tmp_path / "b.sealed"), "--key-file", str(key),
                   "--db", target)
        assert done.returncode == 0, done.stderr
        assert dump(target) == dump(db_url)
    finally:
        drop()  # type: ignore[operator]
    assert not list(tmp_path.glob(".bontrack-*"))  # no plain copy left behind


def test_a_passphrase_seals_and_a_wrong_one_restores_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    demo_db(url, patients=2)
    words = tmp_path / "words.txt"
    words.write_text(PASSPHRASE + "\n")
    made = cli("backup", str(tmp_path / "b.sealed"), "--passphrase-file", str(words),
               "--db", url)
    assert made.returncode == 0, made.stderr
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase at all\n")
    target = tmp_path / "restored.db"
    refused = cli("restore", str(tmp_path / "b.sealed"), "--passphrase-file", str(wrong),
                  "--db", f"sqlite:///{target}")
    assert refused.returncode == 2
    assert "wrong key or passphrase" in refused.stderr and "Traceback" not in refused.stderr
    assert not target.exists() or target.stat().st_size == 0
    no_key = cli("restore", str(tmp_path / "b.sealed"), "--db", f"sqlite:///{target}")
    assert no_key.returncode == 2 and "--passphrase-file" in no_key.stderr


def test_plain_backups_and_new_databases_are_private(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    assert cli("init", "--db", url).returncode == 0
    assert mode(tmp_path / "clinic.db") == 0o600
    assert cli("backup", str(tmp_path / "plain.db"), "--db", url).returncode == 0
    assert mode(tmp_path / "plain.db") == 0o600
    backup(url, tmp_path / "in-process.db")  # the library call too, whatever the umask
    assert mode(tmp_path / "in-process.db") == 0o600


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(sealed, "CHUNK", 64)


def chunks_of(path: Path) -> tuple[bytes, list[bytes]]:
    data = path.read_bytes()
    head_len = int.from_bytes(data[len(sealed.MAGIC):len(sealed.MAGIC) + 4], "big")
    pos = len(sealed.MAGIC) + 4 + head_len
    head, records = data[:pos], []
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        records.append(data[pos:pos + 4 + n])
        pos += 4 + n
    return head, records


@pytest.mark.parametrize("damage", ["drop_last", "swap", "flip_bit", "truncate_mid",
                                    "header"])
def test_any_change_to_a_sealed_file_is_refused(small_chunks, tmp_path, damage):
    plain = tmp_path / "plain"
    plain.write_bytes(bytes(range(256)) * 3)
    key = sealed.secrets.token_bytes(32)
    sealed.seal(plain, tmp_path / "s", key=key)
    head, records = chunks_of(tmp_path / "s")
    assert len(records) == 12
    if damage == "drop_last":
        records = records[:-1]
    elif damage == "swap":
        records[3], records[4] = records[4], records[3]
    elif damage == "flip_bit":
        records[5] = records[5][:10] + bytes([records[5][10] ^ 1]) + records[5][11:]
    elif damage == "truncate_mid":
        records[-1] = records[-1][:20]
    else:
        head = head.replace(b'"chunk": 64', b'"chunk": 65')
    (tmp_path / "s").write_bytes(head + b"".join(records))
    with pytest.raises(BontrackError):
        sealed.unseal(tmp_path / "s", tmp_path / "out", key=key)
    assert not (tmp_path / "out").exists()
    sealed.seal(plain, tmp_path / "s2", key=key)  # and an intact one opens
    sealed.unseal(tmp_path / "s2", tmp_path / "out2", key=key)
    assert (tmp_path / "out2").read_bytes() == plain.read_bytes()


def test_restore_of_a_sealed_backup_without_its_key_is_a_clean_error(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"x" * 10)
    sealed.seal(plain, tmp_path / "s", key=bytes(32))
    with pytest.raises(BontrackError, match="key file"):
        restore(tmp_path / "s", f"sqlite:///{tmp_path / 'r.db'}")
