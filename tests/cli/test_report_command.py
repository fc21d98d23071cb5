"""`bontrack report`: PDFs written to a file, opened and read back; bad input is one line on
stderr naming the option, exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bontrack.demo.generator import generate
from bontrack.store.db import make_engine
from bontrack.store.migrate import upgrade
from bontrack.store.uow import Database


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'demo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    generate(Database(engine), patients=8, seed=11)
    engine.dispose()
    return url


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from bontrack.cli.main import run; run()",
                           *args], capture_output=True, text=True, timeout=300)


def text_of(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(path).pages)


def test_report_patient_writes_a_plain_language_visit_report(demo_db, tmp_path):
    out = tmp_path / "visit.pdf"
    r = bontrack("report", "patient", "1", "--as", "dr.lee", "-o", str(out), "--db", demo_db)
    assert r.returncode == 0, r.stderr
    text = text_of(out)
    for words in ("Your botulinum toxin treatment", "What was injected", "How it went",
                  "Side effects", "Your next visit", "When to get help at once",
                  "Shortness of breath"):
        assert words in text, words


def test_report_cycle_writes_the_clinician_summary(demo_db, tmp_path):
    out = tmp_path / "cycle.pdf"
    r = bontrack("report", "cycle", "1", "--as", "dr.okafor", "-o", str(out), "--db", demo_db)
    assert r.returncode == 0, r.stderr
    text = text_of(out)
    assert "Cycle summary" in text and "Injections" in text and "Vials" in text
    assert "Response after this cycle" in text


def test_report_clinic_for_a_date_range(demo_db, tmp_path):
    out = tmp_path / "clinic.pdf"
    r = bontrack("report", "clinic", "--from", "2024-01-01", "--to", "2026-12-31", "--as",
                 "admin", "-o", str(out), "--db", demo_db)
    assert r.returncode == 0, r.stderr
    text = text_of(out)
    assert "from 2024-01-01, to 2026-12-31" in text
    for words in ("Responders", "Duration of benefit", "Side effects per 100 cycles",
                  "Intervals between cycles", "Units discarded", "Responder rules"):
        assert words in text, words


@pytest.mark.parametrize("args,message", [
    (["clinic", "--from", "2026-02-30"], "--from: must be a date as YYYY-MM-DD"),
    (["clinic", "--to", "soon"], "--to: must be a date"),
    (["clinic", "--product", "Botax"], "--product: unknown product"),
    (["clinic", "--indication", "toothache"], "--indication: unknown indication"),
    (["patient", "9999"], "patient 9999 not found"),
])
def test_bad_input_is_one_line_naming_the_option(demo_db, tmp_path, args, message):
    r = bontrack("report", *args, "--as", "dr.lee", "-o", str(tmp_path / "x.pdf"),
                 "--db", demo_db)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.pdf").exists()


def test_a_patient_account_cannot_make_the_clinic_report(demo_db, tmp_path):
    r = bontrack("report", "clinic", "--as", "patient1", "-o", str(tmp_path / "x.pdf"),
                 "--db", demo_db)
    assert r.returncode == 2 and "may not see clinic analytics" in r.stderr


def test_an_unknown_account_is_named(demo_db, tmp_path):
    r = bontrack("report", "clinic", "--as", "nobody", "-o", str(tmp_path / "x.pdf"),
                 "--db", demo_db)
    assert r.returncode == 2 and "--as: no active account 'nobody'" in r.stderr
