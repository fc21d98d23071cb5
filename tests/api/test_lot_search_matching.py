"""Which patients got lot X, found loosely (issue 17 item 9 follow-up), on SQLite and
PostgreSQL: the lot as typed first, then lots that are the same without spaces and hyphens,
then lots that start with it; every row (and the CSV) names the lot it matched and how, so a
recall list is never silently widened; "exact only" gives the lot as typed; ``%`` and ``_``
in a search are characters, never SQL wildcards."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.api.test_vial_log import TODAY, cycle, draw, open_vial


def cycle_vial(api, patient: str, lot: str) -> dict:
    return cycle(api, patient, vials=[{"size_units": 200, "diluent_ml": 4, "lot": lot,
                                       "expiry": (TODAY + timedelta(days=90)).isoformat()}])


def log_draw(api, patient: str, lot: str) -> None:
    v = open_vial(api, lot=lot)
    assert draw(api, v["id"], cycle(api, patient)["id"], 10).status_code == 201


def lots(api, lot: str, **params: str) -> dict:
    r = api.get("doc", "/api/v1/lots", params={"lot": lot, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_exact_lot_comes_first_then_lots_like_it_each_row_naming_its_lot(api):
    log_draw(api, "p1", "L-77A")  # exact
    cycle_vial(api, "p2", "l77a")  # the same without the hyphen, another case
    cycle_vial(api, "p1", "L 77 A")  # the same without spaces
    log_draw(api, "p2", "L-77AB")  # starts with it
    cycle_vial(api, "p1", "XL-77A")  # contains it: not this lot
    log_draw(api, "p1", "L-78")  # another lot
    found = lots(api, "l-77a")
    got = [(i["lot"], i["match"]) for i in found["items"]]
    assert got[0] == ("L-77A", "exact")
    assert sorted(got[1:3]) == [("L 77 A", "normalised"), ("l77a", "normalised")]
    assert got[3] == ("L-77AB", "prefix")
    assert len(got) == 4 and found["total"] == 4
    assert found["widened"] is True
    first = found["lots"][0]
    assert (first["lot"], first["match"], first["rows"]) == ("L-77A", "exact", 1)
    assert {m["lot"] for m in found["lots"]} == {"L-77A", "l77a", "L 77 A", "L-77AB"}
    # the lot as typed only: no wider
    exact = lots(api, "l-77a", match="exact")
    assert [(i["lot"], i["match"]) for i in exact["items"]] == [("L-77A", "exact")]
    assert exact["widened"] is False
    # a prefix finds every lot that starts with it, nothing that only contains it
    prefix = lots(api, "L7")
    assert {i["lot"] for i in prefix["items"]} == {"L-77A", "l77a", "L 77 A", "L-77AB", "L-78"}
    assert {i["match"] for i in prefix["items"]} == {"prefix"}


def test_the_csv_names_the_lot_and_the_match_on_every_row(api):
    log_draw(api, "p1", "R-100")
    cycle_vial(api, "p2", "R100")
    log_draw(api, "p2", "R-1001")
    r = api.get("doc", "/api/v1/lots.csv", params={"lot": "R-100"})
    assert r.status_code == 200
    table = list(csv.reader(io.StringIO(r.text)))
    header, body = table[0], table[1:]
    rows = [(row[header.index("lot")], row[header.index("match")]) for row in body]
    assert rows == [("R-100", "exact"), ("R100", "normalised"), ("R-1001", "prefix")]
    exact = api.get("doc", "/api/v1/lots.csv", params={"lot": "R-100", "match": "exact"})
    table = list(csv.reader(io.StringIO(exact.text)))
    assert [row[table[0].index("lot")] for row in table[1:]] == ["R-100"]


def test_like_wildcards_in_a_lot_are_matched_literally(api):
    log_draw(api, "p1", "AB%1")
    cycle_vial(api, "p2", "AB_1")
    cycle_vial(api, "p1", "ABX1")
    log_draw(api, "p2", "AB1")
    cycle_vial(api, "p1", "A/B1")
    # % and _ are the characters themselves
    assert [i["lot"] for i in lots(api, "AB%")["items"]] == ["AB%1"]
    assert [(i["lot"], i["match"]) for i in lots(api, "AB_1")["items"]] == [("AB_1", "exact")]
    assert [i["lot"] for i in lots(api, "AB_1", match="exact")["items"]] == ["AB_1"]
    assert lots(api, "%")["total"] == 0 and lots(api, "_")["total"] == 0
    assert lots(api, "%", match="exact")["total"] == 0
    # the escape character itself is literal too
    assert [i["lot"] for i in lots(api, "A/")["items"]] == ["A/B1"]
    assert {i["lot"] for i in lots(api, "AB")["items"]} == {"AB%1", "AB_1", "ABX1", "AB1"}


def test_a_search_without_a_letter_or_digit_or_a_bad_match_is_refused_naming_the_field(api):
    r = api.get("doc", "/api/v1/lots", params={"lot": " - "})
    assert r.status_code == 422 and r.json()["field"] == "lot"
    r = api.get("doc", "/api/v1/lots", params={"lot": "L1", "match": "fuzzy"})
    assert r.status_code == 422 and r.json()["field"] == "match"


def test_the_lots_page_says_when_it_found_lots_beyond_the_one_typed(api, web):
    log_draw(api, "p1", "W-5")
    cycle_vial(api, "p2", "W-55")
    nurse = web("nurse")
    page = nurse.get("/lots", params={"lot": "W-5"}).text
    assert 'id="lot-widened"' in page and "Not only lot W-5" in page
    assert "W-55</strong>: starts with the lot searched" in page
    assert "match=exact" in page  # a link to the exact lot only
    exact = nurse.get("/lots", params={"lot": "W-5", "match": "exact"}).text
    assert 'id="lot-widened"' not in exact and "W-55" not in exact
    csv_ = nurse.get("/lots.csv", params={"lot": "W-5"}).text
    assert "W-55" in csv_ and "prefix" in csv_
