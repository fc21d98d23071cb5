"""The security probe of issue 17 (research/attack_probe.md): inputs that gave a 5xx now get
a 4xx naming the field (problem+json on the API, an OperationOutcome on FHIR, an error page
on the web), on SQLite and PostgreSQL. Each test sends the probe's own requests."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from bontrack.app import create_app as create_whole_app
from bontrack.server.downloads import attachment
from bontrack.server.errors import is_busy
from bontrack.services import mfa
from tests.api.conftest import PASSWORD, uls_cycle
from tests.api.test_mfa import enrol


def assert_safe_disposition(value: str) -> None:
    """One ``filename`` (ASCII) and one ``filename*`` (UTF-8, percent-encoded), nothing a
    name could inject."""
    value.encode("latin-1")
    assert value.startswith("attachment; filename=\"")
    assert value.count("filename=") == 1 and value.count("filename*=UTF-8''") == 1
    assert value.count('"') == 2 and value.count(";") == 2
    assert not any(ch in value for ch in "\r\n\x00/\\")


# -- F1: lots.csv with a lot outside Latin-1 ----------------------------------------------
@pytest.mark.parametrize("lot", ["AĀ", "中1", "Лот-7"])
def test_lots_csv_of_a_non_latin_lot_is_a_download_named_after_it(api, web, lot):
    r = api.get("doc", "/api/v1/lots.csv", params={"lot": lot})
    assert r.status_code == 200, r.text
    header = r.headers["content-disposition"]
    assert_safe_disposition(header)
    assert unquote(header.split("filename*=UTF-8''")[1]) == f"lot-{lot}.csv"
    page = web("nurse").get("/lots.csv", params={"lot": lot})
    assert page.status_code == 200, page.text
    assert_safe_disposition(page.headers["content-disposition"])


@pytest.mark.parametrize("name", ['x"; filename="evil.html.csv', "a\r\nSet-Cookie: a=b.csv",
                                  "../../x.csv", "‮gpj.csv", "x\x00.csv", "", "é" * 500])
def test_every_suggested_file_name_is_one_safe_header(name):
    assert_safe_disposition(attachment(name))


# -- F2: chart.csv / chart.png with an unknown scale ---------------------------------------
@pytest.mark.parametrize("scale", ["\u202e", "中", 'x"; filename="evil.html', "../../x",
                                   "x\r\nSet-Cookie: a=b", "x\x00", "not_a_scale"])
@pytest.mark.parametrize("fmt", ["csv", "png"])
def test_a_chart_of_an_unknown_scale_is_refused_naming_scale(api, web, scale, fmt):
    r = web("doc").get(f"/patients/{api.ids['p1']}/chart.{fmt}", params={"scale": scale})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "scale" in r.text and "content-disposition" not in r.headers
    assert "Traceback" not in r.text


def test_a_chart_of_a_known_scale_is_still_a_download(api, web):
    r = web("doc").get(f"/patients/{api.ids['p1']}/chart.csv",
                       params={"scale": "modified_ashworth"})
    assert r.status_code == 200, r.text
    assert_safe_disposition(r.headers["content-disposition"])
    assert f"patient-{api.ids['p1']}-modified_ashworth.csv" in r.headers["content-disposition"]


# -- F5: FHIR date search at the ends of the calendar --------------------------------------
def patient_names(api, **params: str) -> list[str]:
    r = api.get("doc", "/fhir/Patient", params=params)
    assert r.status_code == 200, r.text
    return sorted(e["resource"]["name"][0]["text"] for e in r.json().get("entry", [])
                  if e["resource"]["resourceType"] == "Patient")


BOTH = ["Alex Synthetic", "Sam Example"]
EDGE_DATES = [
    ({"birthdate": "le9999-12-31"}, BOTH), ({"birthdate": "lt9999-12-31"}, BOTH),
    ({"birthdate": "gt9999-12-31"}, []), ({"birthdate": "sa9999-12-31"}, []),
    ({"birthdate": "ge9999-12-31"}, []), ({"birthdate": "eq9999-12-31"}, []),
    ({"birthdate": "ne9999-12-31"}, BOTH), ({"birthdate": "eb9999-12-31"}, BOTH),
    ({"birthdate": "le9999-12"}, BOTH), ({"birthdate": "9999"}, []),
    ({"birthdate": "le9999"}, BOTH), ({"birthdate": "ge0001-01-01"}, BOTH),
    ({"birthdate": "lt0001-01-01"}, []), ({"birthdate": "gt0001"}, BOTH),
    ({"birthdate": "le0001-01"}, []),
    ({"_lastUpdated": "gt9999-12-31T23:59:59Z"}, []),
    ({"_lastUpdated": "le9999-12-31"}, BOTH), ({"_lastUpdated": "ge0001-01-01"}, BOTH),
]


def test_fhir_date_search_at_the_ends_of_the_calendar_answers(api):
    for params, expected in EDGE_DATES:
        assert patient_names(api, **params) == expected, params
    for kind, name in (("Observation", "date"), ("Procedure", "date"),
                       ("Observation", "_lastUpdated")):
        for value in ("gt9999-12-31", "le9999-12-31", "ge0001-01-01", "ne9999"):
            r = api.get("doc", f"/fhir/{kind}", params={name: value})
            assert r.status_code == 200, (kind, name, value, r.text)


def test_a_fhir_date_that_does_not_exist_is_a_4xx_naming_the_parameter(api):
    for value, what in (("2026-02-30", "day"), ("2026-13", "month"), ("0000", "year")):
        r = api.get("doc", "/fhir/Patient", params={"birthdate": value})
        assert r.status_code == 422, r.text
        issue = r.json()["issue"][0]
        assert r.json()["resourceType"] == "OperationOutcome"
        assert issue["expression"] == ["birthdate"]
        assert "birthdate" in issue["diagnostics"] and f"real {what}" in issue["diagnostics"]


# -- F12, F13, F16: Unicode digits and very long numbers ------------------------------------
UNICODE_DIGITS = ["³", "²", "١", "①", "9" * 5000, "12345678901234567890123"]


@pytest.mark.parametrize("version", UNICODE_DIGITS)
def test_an_if_match_that_is_not_an_etag_is_a_412_naming_it(api, version):
    r = api.patch("doc", f"/api/v1/patients/{api.ids['p1']}", {"display_name": "Patient Three"},
                  headers={"If-Match": f'"{version}"'.encode()})
    assert r.status_code == 412, r.text
    assert r.json()["field"] == "If-Match"
    r = api.post("doc", f"/api/v1/patients/{api.ids['p2']}/next-visit/cancel",
                 {"reason": "cancel reason"}, headers={"If-Match": f'"{version}"'.encode()})
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize("clinician", ["³", "١٢", "9" * 5000])
def test_a_clinician_filter_of_unicode_digits_names_the_field(api, web, clinician):
    r = api.get("doc", "/api/v1/clinic/analytics", params={"clinician": clinician})
    assert r.status_code == 422 and r.json()["field"] == "clinician", r.text
    page = web("doc").get("/clinic/dashboard", params={"clinician": clinician})
    assert page.status_code == 422 and "clinician" in page.text
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("version", ["³", "٣", "9" * 5000])
def test_web_forms_with_a_unicode_digit_version_are_refused_not_a_500(api, web, version):
    cid = api.post("doc", f"/api/v1/patients/{api.ids['p1']}/cycles", uls_cycle()).json()["id"]
    doc = web("doc")
    csrf = doc.cookies.get("bt_csrf")
    r = doc.post(f"/cycles/{cid}/sign", data={"csrf": csrf, "version": version})
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("text/html") and "version" in r.text.lower()
    assert api.get("doc", f"/api/v1/cycles/{cid}").json()["status"] != "signed"
    r = doc.post(f"/patients/{api.ids['p1']}/medications",
                 data={"csrf": csrf, "medications": "baclofen", "version": version})
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "³³³³³³", "۱۲۳۴۵۶"])
def test_a_second_step_code_of_unicode_digits_is_a_wrong_code(api, code, monkeypatch):
    monkeypatch.setenv("BONTRACK_MFA_REQUIRED", "on")
    enrol(api, "doc")
    r = api.client.post("/api/v1/auth/token",
                        json={"username": "doc", "password": PASSWORD, "totp": code})
    assert r.status_code == 401 and r.json()["field"] == "totp", r.text
    assert mfa.code_step(mfa.new_secret(), code, datetime.now(UTC)) is None


# -- F10, F11: FHIR import of a deeply nested document, of an impossible body weight --------
IMPORT = "/api/v1/fhir/import"


def post_import(api, body: bytes):
    return api.client.post(IMPORT, content=body, headers=api.h(
        "doc", **{"Content-Type": "application/fhir+json"}))


@pytest.mark.parametrize("body", [
    b'{"resourceType":"Bundle","entry":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":'
    + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}]}",
    b'{"resourceType":"Bundle","entry":' + b"[" * 5000 + b"]" * 5000 + b"}\n{}\n",
])
def test_a_deeply_nested_import_is_refused_naming_where(api, body):
    r = post_import(api, body)
    assert r.status_code == 422, r.text
    reasons = " ".join(p["reason"] for p in r.json()["problems"])
    assert "nested more than" in reasons


def weight_bundle(value: str, code: str) -> bytes:
    return ('{"resourceType":"Bundle","type":"collection","entry":[{"resource":'
            '{"resourceType":"Patient","id":"pz","identifier":[{"system":'
            '"https://fhir.bontrack.org/NamingSystem/mrn","value":"IMPZ2"}],"name":[{"text":'
            '"Imp Z"}],"birthDate":"1970-01-02","gender":"male"}},{"resource":'
            '{"resourceType":"Observation","id":"w1","status":"final","subject":{"reference":'
            '"Patient/pz"},"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},'
            f'"valueQuantity":{{"value":{value},"unit":"{code}","system":'
            f'"http://unitsofmeasure.org","code":"{code}"}},"effectiveDateTime":"2026-12-01"}}}}'
            ']}').encode()


@pytest.mark.parametrize(("value", "code"), [("1e30", "kg"), ("1e40", "g"),
                                             ("123456789012345678901234567890", "kg"),
                                             ("1e308", "[lb_av]"), ("-1e30", "kg")])
def test_an_impossible_body_weight_is_refused_naming_value_quantity(api, value, code):
    r = post_import(api, weight_bundle(value, code))
    assert r.status_code == 422, r.text
    paths = [p["path"] for p in r.json()["problems"]]
    assert any(p.startswith("valueQuantity") for p in paths), r.text


# -- F6: FHIR search values too long or too many; "database busy" only when it is -----------
@pytest.mark.parametrize(("kind", "query"), [
    ("Patient", [("name", "a" * 50_100)]),
    ("Patient", [("name:contains", "a" * 2001)]),
    ("Patient", [("family", "a" * 50_100)]),
    ("Patient", [("name", ",".join(f"a{i}" for i in range(250)))]),
    ("Patient", [("identifier", ",".join(f"a{i}" for i in range(1000)))]),
    ("Observation", [("code", ",".join(f"c{i}" for i in range(1000)))]),
    ("Patient", [("name", f"a{i}") for i in range(1000)]),
])
def test_a_search_past_its_bounds_is_a_400_naming_the_parameter(api, kind, query):
    name = query[0][0]
    r = api.get("doc", f"/fhir/{kind}", params=query)
    assert r.status_code == 400, r.text[:300]
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert "retry-after" not in r.headers
    issue = r.json()["issue"][0]
    assert issue["expression"] == [name] and name in issue["diagnostics"]


def test_a_search_within_its_bounds_still_answers(api):
    assert patient_names(api, name="a" * 2000) == []
    assert patient_names(api, name=",".join(["alex"] + [f"a{i}" for i in range(99)])) == [
        "Alex Synthetic"]
    r = api.get("doc", "/fhir/Patient", params=[("name", "alex")] * 50)
    assert r.status_code == 200, r.text


def sqlite_error(sql: str, *args: object) -> OperationalError:
    """The error SQLite itself raises for ``sql``, as SQLAlchemy hands it on."""
    con = sqlite3.connect(":memory:")
    try:
        con.execute(sql, args)
    except sqlite3.OperationalError as exc:
        return OperationalError(sql, args, exc)
    finally:
        con.close()
    raise AssertionError(f"{sql} did not fail")


def test_only_a_busy_or_locked_database_is_called_busy(tmp_path):
    too_complex = sqlite_error("SELECT 'a' LIKE ?", "a" * 50_100)
    assert "too complex" in str(too_complex) and not is_busy(too_complex)
    deep = sqlite_error("SELECT " + " OR ".join(["1=1"] * 5000))
    assert not is_busy(deep)
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("SELECT * FROM t")
    except sqlite3.OperationalError as exc:
        assert is_busy(OperationalError("SELECT", (), exc)), exc
    else:
        raise AssertionError("the database was not locked")
    finally:
        other.close()
        holder.close()


def test_the_web_second_step_with_unicode_digits_is_the_code_page_again(api, monkeypatch):
    """F16 on the web: /login/code with ``١٢٣٤٥٦`` after the right password."""
    monkeypatch.setenv("BONTRACK_MFA_REQUIRED", "on")
    enrol(api, "doc")
    app = create_whole_app(api.url)
    try:
        with TestClient(app, follow_redirects=False) as c:
            c.get("/login")
            r = c.post("/login", data={"username": "doc", "password": PASSWORD,
                                       "csrf": c.cookies.get("bt_csrf")})
            assert r.status_code == 303 and r.headers["location"] == "/login/code", r.text
            r = c.post("/login/code", data={"code": "١٢٣٤٥٦", "csrf": c.cookies.get("bt_csrf")})
            assert r.status_code == 401, r.text
            assert r.headers["content-type"].startswith("text/html") and "wrong" in r.text
    finally:
        app.state.bontrack.db.dispose()
