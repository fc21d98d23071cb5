"""`bontrack triage` as a process: the contract's exit codes, JSON, JSON lines on stdin and
one-line errors for input that cannot be read (shared/contracts/triage.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CONTRACT_KEYS = {"urgent", "flags", "advice", "unclear"}


def bontrack(*args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", "from bontrack.cli.main import run; run()", "triage", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def out_json(r: subprocess.CompletedProcess[bytes]) -> dict:
    return json.loads(r.stdout.decode())


def assert_one_line_error(r: subprocess.CompletedProcess[bytes], words: str) -> None:
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("bontrack: error:") and words in err, err
    assert r.stdout == b""


def test_contract_example_is_urgent_with_exit_1_and_the_contract_fields():
    r = bontrack("trouble swallowing since yesterday, choking on water", "--json")
    assert r.returncode == 1, r.stderr
    doc = out_json(r)
    assert set(doc) >= CONTRACT_KEYS
    assert doc["urgent"] is True and doc["unclear"] is False
    (flag,) = doc["flags"]
    assert flag["id"] == "swallowing"
    assert flag["matched"] in "trouble swallowing since yesterday, choking on water"
    assert "Boxed Warning" in flag["source"] and "BOTOX" in flag["source"]
    assert doc["advice"].startswith("Seek urgent medical care now:")


def test_several_words_are_joined_into_one_report():
    r = bontrack("drooping", "eyelids", "--json")
    assert r.returncode == 1
    assert [f["id"] for f in out_json(r)["flags"]] == ["drooping_eyelids"]


def test_not_urgent_exits_0():
    r = bontrack("sore arm where the needle went in", "--json")
    assert r.returncode == 0
    doc = out_json(r)
    assert doc["urgent"] is False and doc["unclear"] is False and doc["flags"] == []


def test_a_negated_red_flag_is_unclear_with_exit_0_and_the_clinic_is_told():
    r = bontrack("no trouble swallowing", "--json")
    assert r.returncode == 0
    doc = out_json(r)
    assert doc["urgent"] is False and doc["unclear"] is True
    assert "clinic will be told" in doc["advice"]
    assert doc["possible"][0]["id"] == "swallowing" and doc["possible"][0]["reason"] == "negated"


@pytest.mark.parametrize(("text", "unread", "said"), [
    ("ich kann nicht schlucken", ["kann", "schlucken"], 'not read: "kann", "schlucken"'),
    ("🤢🫁❌", [""], "no words to read"),
])
def test_a_text_that_cannot_be_read_is_unclear_never_not_urgent(text, unread, said):
    r = bontrack(text, "--json")
    assert r.returncode == 0, r.stderr
    doc = out_json(r)
    assert doc["urgent"] is False and doc["unclear"] is True and doc["level"] == "unclear"
    assert doc["possible"] == [] and doc["unread"] == unread
    assert "clinic will be told" in doc["advice"]
    line = bontrack(text).stdout.decode()
    assert line.startswith(f"UNCLEAR ({said}).") and "Nothing you wrote" not in line


def test_readable_output_names_the_red_flag_and_its_source():
    r = bontrack("seeing double")
    assert r.returncode == 1
    text = r.stdout.decode()
    assert text.startswith("URGENT") and "vision" in text and "source" in text


def test_stdin_gives_one_json_object_per_report_line_and_exit_1_if_any_is_urgent():
    r = bontrack("-", "--json", stdin=b"sore arm\n\nshort of breath\r\neyes feel funny\n")
    assert r.returncode == 1, r.stderr
    lines = r.stdout.decode().splitlines()
    docs = [json.loads(x) for x in lines]
    assert [d["line"] for d in docs] == [1, 3, 4]
    assert [(d["urgent"], d["unclear"]) for d in docs] == [(False, False), (True, False),
                                                          (False, True)]
    assert all(set(d) >= CONTRACT_KEYS for d in docs)


def test_stdin_without_urgent_reports_exits_0_and_prints_one_line_each():
    r = bontrack("-", stdin=b"sore arm\nheadache\n")
    assert r.returncode == 0
    assert r.stdout.decode().count("\n") == 2 and "NOT URGENT" in r.stdout.decode()


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (("",), None, "TEXT: is empty"),
        (("   ",), None, "TEXT: is empty"),
        ((), None, "TEXT: missing"),
        (("--json",), None, "TEXT: missing"),
        (("-",), b"", "<stdin>: is empty"),
        (("-",), b"  \n\n\t\n", "<stdin>: is empty"),
        ((b"choking \xff",), None, "not UTF-8"),
        (("-", "bruise"), b"cant swallow\n", "either - "),
        (("bruise", "-"), b"cant swallow\n", "either - "),
        (("-",), "choking\n".encode("utf-16"), "is UTF-16 text"),
    ],
    ids=["empty", "blank", "no-text", "json-only", "empty-stdin", "blank-stdin",
         "not-utf8-argument", "stdin-and-text", "text-and-stdin", "utf16-with-mark"],
)
def test_input_that_cannot_be_read_exits_2_with_one_line(args, stdin, words):
    assert_one_line_error(bontrack(*args, stdin=stdin), words)


def test_a_line_with_nul_bytes_is_not_triaged_as_text():
    """UTF-16 without its mark: each line is refused, never read as an empty report."""
    r = bontrack("-", stdin="choking\nfine\n".encode("utf-16-be"))
    assert r.returncode == 2 and "NOT URGENT" not in r.stdout.decode()
    assert "holds a NUL byte" in r.stdout.decode() + r.stderr.decode()


def test_lines_ending_in_a_lone_cr_are_reports_of_their_own():
    r = bontrack("-", "--json", stdin=b"no problems\rchoking on water\r\nall fine\n")
    docs = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [d["urgent"] for d in docs] == [False, True, False] and r.returncode == 1


def test_a_byte_order_mark_on_stdin_is_not_part_of_the_report():
    r = bontrack("-", "--json", stdin="\ufeffhives\n".encode())
    assert r.returncode == 1 and out_json(r)["flags"][0]["matched"] == "hives"


def test_one_unreadable_line_on_stdin_gets_its_own_error_and_the_others_are_triaged():
    r = bontrack("-", "--json", stdin=b"I cant swallow\n\xff\xfe choking\nsore arm\n")
    assert r.returncode == 1, r.stderr
    docs = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [d["line"] for d in docs] == [1, 2, 3]
    assert docs[0]["urgent"] is True and docs[0]["flags"][0]["id"] == "swallowing"
    assert "not UTF-8" in docs[1]["error"] and "line 2" in docs[1]["error"]
    assert docs[2]["urgent"] is False and "error" not in docs[2]
    err = r.stderr.decode()
    assert "Traceback" not in err and "line 2: is not UTF-8" in err


def test_an_unreadable_line_and_no_urgent_report_exits_2_with_the_readable_ones_printed():
    r = bontrack("-", stdin=b"sore arm\n\xff\n")
    assert r.returncode == 2, r.stderr
    out = r.stdout.decode().splitlines()
    assert out[0].startswith("line 1: NOT URGENT") and out[1].startswith("line 2: ERROR")


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_report_longer_than_20000_characters_is_triaged_in_full(where):
    filler = "we went to the shops and bought bread and milk, then came home. " * 800
    assert len(filler) > 50_000
    text = "choking on water. " + filler if where == "start" else filler + " choking on water"
    r = bontrack(text, "--json")
    assert r.returncode == 1, r.stderr
    assert [f["id"] for f in out_json(r)["flags"]] == ["swallowing"]
    r = bontrack("-", "--json", stdin=f"sore arm\n{text}\nheadache\n".encode())
    assert r.returncode == 1, r.stderr
    docs = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [(d["line"], d["urgent"]) for d in docs] == [(1, False), (2, True), (3, False)]


def test_an_unknown_option_is_a_usage_error_not_an_internal_error():
    r = bontrack("--foo", "hello")
    err = r.stderr.decode()
    assert r.returncode == 2 and "No such option" in err
    assert "internal error" not in err and "Traceback" not in err


def test_the_outside_reviews_cases_through_stdin_leave_no_urgent_case_not_urgent():
    from tests.clinical.triage_review import cases

    rows = cases()
    stdin = "".join(text + "\n" for text, _, _ in rows).encode()
    r = bontrack("-", "--json", stdin=stdin)
    assert r.returncode == 1, r.stderr
    docs = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [d["line"] for d in docs] == list(range(1, len(rows) + 1))
    missed = [text for (text, expected, _), d in zip(rows, docs, strict=True)
              if expected == "urgent" and d["level"] == "not_urgent"]
    assert missed == []
