"""The outside review's cases (tests/fixtures/triage_outside_review.tsv, a copy of the
reviewer's research/triage-cases.tsv: ``text<TAB>expected<TAB>flag``) and the outcome table the
review reported. Print the figures with

    python -m tests.clinical.triage_review [--misses]
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

from bontrack.clinical.triage import TriageResult, triage
from bontrack.reference import default_reference
from bontrack.reference.schema import TriageData

CASES_FILE = Path(__file__).parent.parent / "fixtures" / "triage_outside_review.tsv"

#: The reviewer's flag names and the red-flag ids of the reference data.
FLAG_IDS = {
    "swallowing": "swallowing",
    "breathing": "breathing",
    "speech": "speech",
    "vision": "vision",
    "eyelid": "drooping_eyelids",
    "weakness": "generalised_weakness",
    "bladder": "bladder_control",
    "allergy": "allergic_reaction",
}


def cases() -> list[tuple[str, str, str | None]]:
    """(text, expected level, expected red-flag id or None) for each row of the review."""
    out: list[tuple[str, str, str | None]] = []
    with CASES_FILE.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            text, expected, flag = [*row, ""][:3]
            out.append((text, expected, FLAG_IDS[flag] if flag else None))
    return out


Miss = tuple[str, str, str, TriageResult]


def outcomes(data: TriageData) -> tuple[Counter[tuple[str, str]], list[Miss]]:
    """Counts of (expected, got) and every case that did not get the expected level."""
    counts: Counter[tuple[str, str]] = Counter()
    misses: list[Miss] = []
    for text, expected, _flag in cases():
        r = triage(text, data)
        counts[(expected, r.level)] += 1
        if r.level != expected:
            misses.append((text, expected, r.level, r))
    return counts, misses


def main(argv: list[str]) -> None:
    counts, misses = outcomes(default_reference().triage)
    total = Counter(e for e, _ in counts.elements())
    levels = ("urgent", "unclear", "not_urgent")
    print(f"{len(cases())} cases; rows: expected, columns: got")
    print(f"{'':<12}" + "".join(f"{g:>12}" for g in levels) + f"{'total':>8}")
    for e in levels:
        print(f"{e:<12}" + "".join(f"{counts[(e, g)]:>12}" for g in levels) + f"{total[e]:>8}")
    if "--misses" in argv:
        for text, expected, got, r in misses:
            found = [f"{f.id}:{f.matched!r}" for f in r.flags] + [
                f"possible {f.id}:{f.matched!r}" for f in r.possible]
            print(f"{expected:>10} -> {got:<10} {text!r} {'; '.join(found)}")


if __name__ == "__main__":
    main(sys.argv[1:])
