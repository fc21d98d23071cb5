"""GET /api/v1/patients: the page shape kept (items, total, limit, offset, next_offset) and
extended (total_exact, next_cursor), keyset paging, and bad cursors refused naming the field
(SQLite and PostgreSQL)."""

from __future__ import annotations


def _add(api, n: int) -> list[int]:
    ids = []
    for i in range(n):
        r = api.post("doc", "/api/v1/patients", {
            "mrn": f"SRCH-{i:03d}", "display_name": f"Searchable Person {i}",
            "birth_date": "1970-01-01", "sex": "other"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_pages_by_cursor_and_by_offset_agree(api):
    ids = _add(api, 7)
    first = api.get("doc", "/api/v1/patients", params={"q": "searchable", "limit": 3}).json()
    assert set(first) >= {"items", "total", "total_exact", "limit", "offset", "next_offset",
                          "next_cursor"}
    assert first["total"] == 7 and first["total_exact"] is True
    assert first["next_offset"] == 3 and first["next_cursor"] == str(ids[2])
    seen, cursor = [], None
    while True:
        params = {"q": "SEARCHABLE", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get("doc", "/api/v1/patients", params=params).json()
        seen += [p["id"] for p in body["items"]]
        if "cursor" in params:
            assert body["next_offset"] is None  # keyset pages point on by cursor only
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    by_offset = api.get("doc", "/api/v1/patients",
                        params={"q": "searchable", "limit": 3, "offset": 3}).json()
    assert [p["id"] for p in by_offset["items"]] == ids[3:6]
    assert by_offset["next_offset"] == 6


def test_mrn_search_and_the_clinic_boundary(api):
    _add(api, 2)
    body = api.get("doc", "/api/v1/patients", params={"q": "srch-001"}).json()
    assert [p["mrn"] for p in body["items"]] == ["SRCH-001"]
    # clinic B's patient "Kim Other" (MRN B-1) is never found from clinic A, and vice versa
    assert api.get("doc", "/api/v1/patients", params={"q": "Kim Other"}).json()["items"] == []
    assert api.get("doc_b", "/api/v1/patients", params={"q": "srch"}).json()["items"] == []
    assert [p["mrn"] for p in api.get("doc_b", "/api/v1/patients",
                                      params={"q": "kim oth"}).json()["items"]] == ["B-1"]


def test_a_bad_cursor_is_a_problem_naming_the_field(api):
    for cursor in ("abc", "-5", "9" * 30):
        r = api.get("doc", "/api/v1/patients", params={"cursor": cursor})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "cursor" in r.text
    r = api.get("doc", "/api/v1/patients", params={"cursor": "1", "offset": 2})
    assert r.status_code == 422 and "offset" in r.text
