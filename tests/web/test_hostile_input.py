"""Hostile input against the pages and the API, on SQLite and PostgreSQL: stored and
reflected XSS in every free-text field the web app renders, SQL and LIKE injection in search,
CSRF on every state-changing form, IDOR on every ``{id}`` route, oversized and chunked
bodies, malformed JSON, and Unicode edge cases.

Routes are enumerated from the application itself, so a new form or a new ``{id}`` route is
covered the day it is added (and fails here until its ids are known to the test).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from markupsafe import escape
from starlette.routing import Route

from bontrack.app import create_app
from tests.api.conftest import PASSWORD, _template, copy_database, uls_cycle

XSS = '<script>xss("{f}")</script><img src=x onerror=xss("{f}")>'


def payload(name: str) -> str:
    return XSS.format(f=name)


@dataclass
class Site:
    app: Any
    url: str
    ids: dict[str, int]
    tokens: dict[str, str]
    made: dict[str, int] = field(default_factory=dict)

    def api(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        with TestClient(self.app) as c:
            return c.request(method, path, headers={"Authorization": f"Bearer {self.tokens[who]}",
                                                    **kw.pop("headers", {})}, **kw)

    def browser(self, who: str) -> TestClient:
        """A cookie-keeping client signed in through the login form, as a browser would."""
        c = TestClient(self.app, base_url="http://testserver")
        c.get("/login")
        r = c.post("/login", data={"username": who, "password": PASSWORD,
                                   "csrf": c.cookies.get("bt_csrf") or ""},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        return c


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory, tmp_path) -> Iterator[Site]:
    template_url, ids, tokens = _template(request.param, tmp_path_factory)
    url, drop = copy_database(template_url, request.param, tmp_path)
    app = create_app(url)
    app.state.fhir_jobs.root = tmp_path / "bulk"
    yield Site(app=app, url=url, ids=dict(ids), tokens=dict(tokens))
    app.state.bontrack.db.dispose()
    drop()


def _ok(r: httpx.Response, *codes: int) -> dict[str, Any]:
    assert r.status_code in (codes or (200, 201)), r.text
    out: dict[str, Any] = r.json()
    return out


def _stop_codes(r: httpx.Response) -> list[str]:
    return [f["code"] for f in r.json().get("findings", []) if f["severity"] == "stop"]


def plant_hostile_records(site: Site) -> dict[str, str]:
    """Every free-text field the web app renders, filled with its own script payload.
    Returns field name → payload."""
    fields: dict[str, str] = {}

    def text(name: str) -> str:
        fields[name] = payload(name)
        return fields[name]

    p = _ok(site.api("doc", "POST", "/api/v1/patients", json={
        "mrn": text("patient.mrn")[:60], "display_name": text("patient.display_name"),
        "birth_date": "1971-02-03", "sex": "female", "weight_kg": 70}))
    fields["patient.mrn"] = fields["patient.mrn"][:60]
    pid = p["id"]
    site.made["patient"] = pid
    base = f"/api/v1/patients/{pid}"
    _ok(site.api("doc", "POST", f"{base}/conditions", json={
        "indication": "upper_limb_spasticity", "note": text("condition.note")}))
    _ok(site.api("doc", "POST", f"{base}/goals",
                 json={"description": text("goal.description")}))
    _ok(site.api("doc", "POST", f"{base}/side-effects", json={
        "term": text("side_effect.term"), "onset": "2026-11-20", "severity": "mild"}))
    # a cycle with a stop finding, overridden with a reason
    big = uls_cycle(note=text("cycle.note"), consent_text=text("cycle.consent_text"),
                    injections=[{"muscle": "biceps_brachii", "side": "left", "units": 300,
                                 "sites": 4},
                                {"muscle": "brachioradialis", "side": "left", "units": 200,
                                 "sites": 3}],
                    vials=[{"size_units": 200, "diluent_ml": 4}] * 3)
    first = site.api("doc", "POST", f"{base}/cycles", json=big)
    codes = _stop_codes(first)
    assert codes, f"expected a stop finding to override: {first.text}"
    big["overrides"] = [{"code": c, "reason": text("override.reason")} for c in codes]
    cycle = _ok(site.api("doc", "POST", f"{base}/cycles", json=big))
    site.made["cycle"] = cycle["id"]
    signed = _ok(site.api("doc", "POST", f"/api/v1/cycles/{cycle['id']}/sign",
                          headers={"If-Match": f'"{cycle["version"]}"'}))
    amended = _ok(site.api("doc", "POST", f"/api/v1/cycles/{cycle['id']}/amend",
                           headers={"If-Match": f'"{signed["version"]}"'},
                           json={**big, "version": signed["version"],
                                 "reason": text("amendment.reason")}))
    other = _ok(site.api("doc", "POST", f"{base}/cycles",
                         json=uls_cycle(date="2025-06-02")), 201)
    _ok(site.api("doc", "POST", f"/api/v1/cycles/{other['id']}/entered-in-error",
                 headers={"If-Match": f'"{other["version"]}"'},
                 json={"reason": text("entered_in_error.reason")}))
    site.made["cycle_amended_version"] = amended["version"]
    site.made["cycle_in_error"] = other["id"]
    return fields


def _pages(site: Site) -> list[str]:
    pid, cid = site.made["patient"], site.made["cycle"]
    return ["/patients", f"/patients?q={pid}", f"/patients/{pid}", f"/cycles/{cid}",
            f"/cycles/{cid}/print", f"/patients/{pid}/goals", f"/patients/{pid}/diary",
            f"/patients/{pid}/cycles/new?copy={cid}", "/side-effects",
            f"/patients/{pid}/leaflet", f"/cycles/{site.made['cycle_in_error']}"]


def test_stored_xss_is_escaped_on_every_page(site: Site) -> None:
    fields = plant_hostile_records(site)
    shown: set[str] = set()
    web = site.browser("doc")
    for path in _pages(site):
        r = web.get(path)
        assert r.status_code == 200, (path, r.status_code)
        for name, raw in fields.items():
            assert raw not in r.text, f"{path} renders {name} unescaped"
            assert "<script>xss" not in r.text and "<img src=x" not in r.text, path
            if str(escape(raw)) in r.text:
                shown.add(name)
    # every planted field is rendered somewhere, escaped (so the check above means something)
    assert shown == set(fields) - {"patient.mrn"} or shown == set(fields), set(fields) - shown


def test_stored_xss_in_the_diary_is_escaped_for_patient_and_clinic(site: Site) -> None:
    pid = site.ids["p1"]
    raw_note, raw_se = payload("diary.note"), payload("diary.side_effects")
    _ok(site.api("pat", "POST", f"/api/v1/patients/{pid}/diary",
                 json={"entry_date": "2026-11-21", "note": raw_note,
                       "side_effects": raw_se}), 201)
    for who in ("pat", "doc"):
        r = site.browser(who).get(f"/patients/{pid}/diary")
        assert r.status_code == 200
        assert raw_note not in r.text and raw_se not in r.text
        assert str(escape(raw_note)) in r.text and str(escape(raw_se)) in r.text


@pytest.mark.parametrize("path", ["/patients?q={p}", "/patients/{p}", "/cycles/{p}",
                                  "/patients/{p}/goals", "/nowhere/{p}"])
def test_reflected_xss_in_urls_is_escaped(site: Site, path: str) -> None:
    raw = payload("url")
    r = site.browser("doc").get(path.format(p=httpx.URL("", params={"x": raw}).query.decode()
                                            .removeprefix("x=")))
    assert r.status_code < 500
    assert raw not in r.text and "<script>xss" not in r.text


def test_reflected_xss_in_the_login_form_is_escaped(site: Site) -> None:
    c = TestClient(site.app)
    c.get("/login")
    raw = payload("login.username")
    r = c.post("/login", data={"username": raw, "password": "x" * 12,
                               "csrf": c.cookies.get("bt_csrf") or ""})
    assert r.status_code == 401
    assert raw not in r.text and str(escape(raw)) in r.text


def test_reflected_xss_in_a_refused_form_is_escaped(site: Site) -> None:
    web = site.browser("doc")
    raw = payload("goal.description")
    r = web.post(f"/patients/{site.ids['p1']}/goals",
                 data={"description": raw, "weight": "not a number",
                       "csrf": web.cookies.get("bt_csrf") or ""})
    assert r.status_code in (200, 303, 422)
    assert raw not in r.text


# -- SQL and LIKE injection ------------------------------------------------------------------

@pytest.mark.parametrize("q", ["' OR '1'='1", "'; DROP TABLE patients; --", "%", "_", "\\",
                               "%' OR 1=1 --", "A-1' UNION SELECT * FROM users --", "\"",
                               "1) OR (1=1"])
def test_search_text_is_literal_never_sql(site: Site, q: str) -> None:
    r = site.api("doc", "GET", "/api/v1/patients", params={"q": q})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 0, f"{q!r} matched {r.json()['items']}"
    web = site.browser("doc").get("/patients", params={"q": q})
    assert web.status_code == 200
    assert "Alex Synthetic" not in web.text
    # and the tables are all still there
    again = site.api("doc", "GET", "/api/v1/patients", params={"q": "Alex"})
    assert again.json()["total"] == 1


def test_search_finds_literal_percent_and_underscore(site: Site) -> None:
    _ok(site.api("doc", "POST", "/api/v1/patients", json={
        "mrn": "X_1", "display_name": "Pat 100% Synthetic", "birth_date": "1980-01-01"}), 201)
    assert site.api("doc", "GET", "/api/v1/patients", params={"q": "100%"}).json()["total"] == 1
    assert site.api("doc", "GET", "/api/v1/patients", params={"q": "X_1"}).json()["total"] == 1
    assert site.api("doc", "GET", "/api/v1/patients", params={"q": "X%1"}).json()["total"] == 0


@pytest.mark.parametrize("param,value", [("limit", "1; DROP TABLE users"), ("offset", "-1"),
                                         ("limit", "0"), ("offset", "1e9"),
                                         ("limit", "' OR 1=1")])
def test_paging_filters_are_validated_not_interpolated(site: Site, param: str,
                                                       value: str) -> None:
    r = site.api("doc", "GET", "/api/v1/patients", params={param: value})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == param


# -- CSRF on every state-changing form -------------------------------------------------------

def _web_posts(app: Any) -> list[str]:
    return sorted({r.path for r in app.routes if isinstance(r, Route)
                   and not r.path.startswith(("/api/", "/fhir"))  # bearer-token doors
                   and "POST" in (r.methods or ())
                   and r.include_in_schema is False})


#: path parameters that are not record ids, and what to put in them
NOT_IDS = {"kind": "Patient", "name": "Patient.ndjson", "rest": "Patient/_history",
           "service_id": "bontrack-order-sign",  # CDS Hooks: an EHR's JWT, not a session
           # a published definition (StructureDefinition, CodeSystem...): public, no record
           "definition_id": "laterality"}
#: {record_id} is an outcome's, goal's, side effect's or diary entry's id (entered in error):
#: a goal's is aimed at all four (the others answer "not found", which is what is wanted
#: from another clinic's id, and a forged form must be refused before any lookup)
IDS = {"patient_id": "p1", "cycle_id": "cycle", "goal_id": "goal", "rid": "p1",
       "job_id": "job", "record_id": "goal", "username": "user",
       "condition_id": "condition", "vial_id": "vial", "draw_id": "draw",
       "group_id": "group"}


def _fill(path: str, ids: dict[str, Any]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in NOT_IDS:
            return NOT_IDS[name]
        key = IDS.get(name)
        assert key is not None and key in ids, f"the test knows no id for {{{name}}} ({path})"
        return str(ids[key])

    return re.sub(r"\{(\w+)(?::path)?\}", one, path)


def _has_id(path: str) -> bool:
    return any(name in IDS for name in re.findall(r"\{(\w+)", path))


def _vial_and_draw(site: Site, owner: str, cycle_id: int) -> dict[str, int]:
    """A vial of the owner's clinic's vial log and a draw from it into ``cycle_id``."""
    from datetime import UTC, datetime, timedelta

    made = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    vial = _ok(site.api(owner, "POST", "/api/v1/vials",
                        json={"product": "onabotulinumtoxinA", "size_units": 100,
                              "lot": "HOSTILE", "expiry": "2030-01-01",
                              "reconstituted_at": made}))
    drawn = _ok(site.api(owner, "POST", f"/api/v1/vials/{vial['id']}/draws",
                         json={"cycle_id": cycle_id, "units": 10}))
    return {"vial": vial["id"], "draw": drawn["draws"][-1]["id"]}


def _own_ids(site: Site) -> dict[str, int]:
    """A draft cycle and a goal of patient 1 (clinic A), to aim forms and routes at."""
    pid = site.ids["p1"]
    cycle = _ok(site.api("doc", "POST", f"/api/v1/patients/{pid}/cycles", json=uls_cycle()))
    goal = _ok(site.api("doc", "POST", f"/api/v1/patients/{pid}/goals",
                        json={"description": "walk to the shop"}))
    condition = _ok(site.api("doc", "POST", f"/api/v1/patients/{pid}/conditions",
                             json={"indication": "upper_limb_spasticity"}))
    return {"p1": pid, "cycle": cycle["id"], "goal": goal["id"], "condition": condition["id"],
            **_vial_and_draw(site, "doc", cycle["id"])}


def _row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    tables = ("patients", "cycles", "injections", "goals", "side_effects", "diary_entries",
              "outcomes", "conditions", "overrides", "cycle_revisions")
    with engine.connect() as c:
        counts = {t: c.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in tables}
        counts["signed"] = c.exec_driver_sql(
            "SELECT count(*) FROM cycles WHERE status = 'signed'").scalar_one()
        counts["versions"] = c.exec_driver_sql(
            "SELECT coalesce(sum(version), 0) FROM goals").scalar_one()
    engine.dispose()
    return counts


def test_every_form_refuses_a_missing_or_forged_csrf_token(site: Site) -> None:
    ids = _own_ids(site)
    forms = _web_posts(site.app)
    assert "/patients/{patient_id}/cycles" in forms and len(forms) >= 9, forms
    web = site.browser("doc")
    before = _row_counts(site.url)
    body = {"description": "forged", "weight": "1", "attainment": "1", "term": "forged",
            "onset": "2026-11-20", "severity": "mild", "scale": "mas", "value": "1",
            "note": "forged", "entry_date": "2026-11-20", "version": "1",
            "product": "onabotulinumtoxinA", "indication": "upper_limb_spasticity"}
    for form in forms:
        if form in ("/login",):
            continue  # covered by test_browser: a forged token at sign-in answers 403
        path = _fill(form, ids)
        for token in (None, "forged-token"):
            data = dict(body) if token is None else {**body, "csrf": token}
            r = web.post(path, data=data, follow_redirects=False)
            assert r.status_code == 403, (form, token, r.status_code)
        # a cross-site request carries no cookies at all
        anonymous = TestClient(site.app).post(path, data={**body, "csrf": "x"},
                                               follow_redirects=False)
        assert anonymous.status_code in (303, 401, 403), (form, anonymous.status_code)
    assert _row_counts(site.url) == before


# -- IDOR on every {id} route ----------------------------------------------------------------

def _id_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for r in app.routes:
        if isinstance(r, Route) and "{" in r.path:
            for method in sorted((r.methods or set()) - {"HEAD"}):
                out.append((method, r.path))
    return out


def _clinic_of(url: str, patient_id: int) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        clinic = c.execute(sa.text("SELECT clinic_id FROM patients WHERE id = :p"),
                           {"p": patient_id}).scalar_one()
    engine.dispose()
    return int(clinic)


def _foreign_ids(site: Site, who: str) -> dict[str, int]:
    """Records the caller must not reach: clinic B's for staff, patient 2's for a patient."""
    if who == "pat":
        owner, pid = "doc", site.ids["p2"]
    else:
        owner, pid = "doc_b", site.ids["pb"]
    cycle = _ok(site.api(owner, "POST", f"/api/v1/patients/{pid}/cycles",
                         json=uls_cycle(injections=[{"muscle": "biceps_brachii",
                                                     "side": "left", "units": 60,
                                                     "sites": 2}])))
    goal = _ok(site.api(owner, "POST", f"/api/v1/patients/{pid}/goals",
                        json={"description": "theirs"}))
    # {username}: an account of the other clinic (for a patient: their own clinician's)
    condition = _ok(site.api(owner, "POST", f"/api/v1/patients/{pid}/conditions",
                             json={"indication": "upper_limb_spasticity", "note": "theirs"}))
    # {group_id}: the other clinic's Group (for a patient: their own clinic's, which a
    # patient may not list either)
    out: dict[str, Any] = {"p1": pid, "cycle": cycle["id"], "goal": goal["id"],
                           "user": owner, "condition": condition["id"],
                           "group": _clinic_of(site.url, pid),
                           **_vial_and_draw(site, owner, cycle["id"])}
    if who != "pat":  # a Bulk export job of the other clinic
        kick = site.api(owner, "GET", "/fhir/$export", headers={"Prefer": "respond-async"})
        assert kick.status_code == 202, kick.text
        out["job"] = kick.headers["Content-Location"].rstrip("/").rsplit("/", 1)[1]
    else:
        out["job"] = "no-such-job"
    return out


@pytest.mark.parametrize("who", ["doc", "nurse", "admin", "pat"])
def test_no_id_route_reaches_another_clinic_or_patient(site: Site, who: str) -> None:
    foreign = _foreign_ids(site, who)
    routes = _id_routes(site.app)
    assert len(routes) >= 30, routes
    before = _row_counts(site.url)
    web = site.browser(who)
    csrf = web.cookies.get("bt_csrf") or ""
    body = {"description": "x", "weight": 1, "attainment": 1, "reason": "because",
            "term": "x", "onset": "2026-11-20", "severity": "mild", "entry_date": "2026-11-20",
            "indication": "upper_limb_spasticity", "scale": "mas", "value": 1,
            "weight_kg": 60, "measured_on": "2026-11-20", "display_name": "renamed"}
    for method, route in routes:
        path = _fill(route, foreign)
        if route.startswith(("/api/", "/fhir")):  # bearer-token doors
            headers = {"If-Match": '"1"'}
            r = site.api(who, method, path, headers=headers,
                         json=(uls_cycle() | body) if method != "GET" else None)
        else:
            r = web.request(method, path, data={**{k: str(v) for k, v in body.items()},
                                                "csrf": csrf, "version": "1"},
                            follow_redirects=False) if method == "POST" else web.get(path)
        if _has_id(route):
            assert r.status_code in (403, 404, 405, 422), (who, method, route, r.status_code,
                                                           r.text[:200])
        else:  # e.g. a FHIR search: answers with the caller's own records only
            assert r.status_code < 500, (who, method, route, r.status_code)
        marker = "theirs"
        assert marker not in r.text, (who, method, route)
    assert _row_counts(site.url) == before, "a refused request changed data"


# -- oversized, chunked and malformed bodies -------------------------------------------------

def test_oversized_bodies_are_refused_on_api_and_forms(site: Site) -> None:
    big = "x" * 1_100_000
    r = site.api("doc", "POST", "/api/v1/plan-check", content=big,
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["field"] == "body"
    web = site.browser("doc")
    r = web.post(f"/patients/{site.ids['p1']}/goals",
                 data={"description": big, "csrf": web.cookies.get("bt_csrf") or ""})
    assert r.status_code == 413


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_chunked_upload_without_length_is_refused_without_being_buffered(tmp_path) -> None:
    """200 MB sent chunked (no Content-Length) to a real server: the answer is 413 and the
    server's peak memory does not grow by anything like the body's size."""
    from tests.api.conftest import seed
    from tests.store.test_durability import Server

    url = f"sqlite:///{tmp_path / 'chunked.db'}"
    seed(url)
    srv = Server(url)
    srv.start()
    try:
        headers = {**srv.token("doc"), "Content-Type": "application/json"}
        httpx.post(f"{srv.base}/api/v1/plan-check", json={}, headers=headers, timeout=30)
        assert srv.proc is not None
        before = _peak_rss_kib(srv.proc.pid)

        def chunks() -> Iterator[bytes]:
            for _ in range(200 * 16):
                yield b" " * 65536

        try:
            r = httpx.post(f"{srv.base}/api/v1/plan-check", content=chunks(), headers=headers,
                           timeout=60)
            assert r.status_code == 413, r.text
        except httpx.HTTPError:
            pass  # the server may close the connection while the client is still sending
        grown_mib = (_peak_rss_kib(srv.proc.pid) - before) / 1024
        assert grown_mib < 40, f"server peak memory grew {grown_mib:.0f} MiB for a 200 MB body"
        assert httpx.get(f"{srv.base}/health", timeout=5).status_code == 200
    finally:
        srv.kill()


@pytest.mark.parametrize("content", [b"{", b"[1,2", b"\xff\xfe\x00", b"null", b"{\"a\": NaN}",
                                     b"{" * 5000 + b"}" * 5000, b"\"\\ud800\""])
def test_malformed_json_is_a_problem_not_a_crash(site: Site, content: bytes) -> None:
    for path in ("/api/v1/plan-check", f"/api/v1/patients/{site.ids['p1']}/goals",
                 "/api/v1/patients"):
        r = site.api("doc", "POST", path, content=content,
                     headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422), (path, content[:20], r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("application/problem+json")


# -- Unicode edge cases ----------------------------------------------------------------------

UNICODE = {
    "emoji": "Ana 👩🏽‍⚕️ Synthetic",
    "rtl": "مريم الاصطناعية",
    "combining": "Zoe\u0301 Syntheti\u0301c",
    "joiner": "Jo\u200dhn\u200c Synthetic",  # the joiners some scripts need are kept
    "astral": "𝔄𝔩𝔢𝔵 Synthetic",
    "cjk": "合成 患者",
    "long": "Ä" * 200,
}


#: Invisible formatting that makes a name read otherwise than it is stored (issue 15):
#: refused, naming the field.
DECEPTIVE = {
    "zero_width": "Jo\u200bhn Synthetic",
    "bidi_override": "Eve \u202egnp.exe",
    "bidi_isolate": "Eve \u2067Synthetic\u2069",
}


@pytest.mark.parametrize("kind", sorted(DECEPTIVE))
def test_deceptive_names_are_refused_naming_the_field(site: Site, kind: str) -> None:
    r = site.api("doc", "POST", "/api/v1/patients", json={
        "mrn": f"U-{kind}", "display_name": DECEPTIVE[kind], "birth_date": "1980-01-01"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "display_name"


@pytest.mark.parametrize("kind", sorted(UNICODE))
def test_unicode_names_round_trip_exactly(site: Site, kind: str) -> None:
    name = UNICODE[kind]
    p = _ok(site.api("doc", "POST", "/api/v1/patients", json={
        "mrn": f"U-{kind}", "display_name": name, "birth_date": "1980-01-01"}), 201)
    back = _ok(site.api("doc", "GET", f"/api/v1/patients/{p['id']}"))
    assert back["display_name"] == name
    page = site.browser("doc").get(f"/patients/{p['id']}")
    assert page.status_code == 200 and str(escape(name)) in page.text


@pytest.mark.parametrize("bad", ["nul\u0000byte", "\ud800lone surrogate", "x" * 201, "",
                                 "   ", "\u0007bell"])
def test_unusable_text_is_refused_naming_the_field(site: Site, bad: str) -> None:
    r = site.api("doc", "POST", "/api/v1/patients",
                 content=('{"mrn": "U-bad", "birth_date": "1980-01-01", "display_name": '
                          + _json_string(bad) + "}").encode(),
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 422, (bad[:10], r.status_code, r.text[:200])
    assert "display_name" in r.json()["detail"]


def _json_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\' or ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
