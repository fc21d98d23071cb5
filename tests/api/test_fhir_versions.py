"""FHIR versions, conditional reads, _lastUpdated, _sort, _include and _revinclude (issue 18
item 2) on real databases (SQLite and PostgreSQL): every resource carries the stored
record's version and time of change, a read answers ETag / Last-Modified and 304, and an
include never brings in what the user may not read (another clinic's, another patient's,
a patient's plan). One database copy per engine per test; the record is written through
the REST API (tests/api/fhir_records.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import sqlalchemy as sa

from bontrack.services import accounts, conditions
from bontrack.services.schemas import ConditionPatch
from bontrack.store.db import make_engine, session_factory, transaction
from bontrack.store.models import User
from tests.api.conftest import uls_cycle
from tests.api.fhir_records import full_record

TYPES = ("Patient", "Condition", "Encounter", "Procedure", "Medication",
         "MedicationAdministration", "Observation", "Goal", "AdverseEvent",
         "QuestionnaireResponse")


def entries(r, mode: str | None = None) -> list[dict]:
    assert r.status_code == 200, r.text
    return [e["resource"] for e in r.json().get("entry", [])
            if mode is None or e["search"]["mode"] == mode]


def keys(resources: list[dict]) -> set[str]:
    return {f"{r['resourceType']}/{r['id']}" for r in resources}


def change_condition(url: str, condition_id: int) -> None:
    """A clinician edits the condition's note (the web form's use case)."""
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        doc = s.scalar(sa.select(User).where(User.username == "doc"))
        conditions.update_condition(s, accounts.actor_of(doc), condition_id,
                                    ConditionPatch(note="after stroke, left arm"))
    engine.dispose()


def test_every_resource_carries_version_and_change_time_and_reads_are_conditional(api):
    started = datetime.now(UTC).replace(microsecond=0)
    made = full_record(api)
    p1 = api.ids["p1"]
    everything = entries(api.get("doc", f"/fhir/Patient/{p1}/$everything"))
    assert {r["resourceType"] for r in everything} == set(TYPES)
    for r in everything:
        meta = r["meta"]
        assert meta["versionId"].isdigit(), r
        assert datetime.fromisoformat(meta["lastUpdated"]).tzinfo is not None, r
        read = api.get("doc", f"/fhir/{r['resourceType']}/{r['id']}")
        assert read.status_code == 200 and read.json()["meta"] == meta
        etag = read.headers["etag"]
        assert etag == f'W/"{meta["versionId"]}"'
        changed = datetime.fromisoformat(meta["lastUpdated"]).astimezone(UTC)
        assert read.headers["last-modified"] == format_datetime(changed, usegmt=True)
        again = api.get("doc", f"/fhir/{r['resourceType']}/{r['id']}",
                        headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
    by_type = {r["resourceType"]: r for r in everything}
    # the stored versions: a signed cycle is version 2 (created, signed), and so are the
    # parts of it (injections, vials); a scored goal 2; the rest as created
    assert by_type["Procedure"]["meta"]["versionId"] == "2"
    assert by_type["MedicationAdministration"]["meta"]["versionId"] == "2"
    assert by_type["Medication"]["meta"]["versionId"] == "2"
    assert by_type["Goal"]["meta"]["versionId"] == "2"
    assert by_type["Condition"]["meta"]["versionId"] == "1"
    assert by_type["Procedure"]["meta"]["lastUpdated"] == next(
        x["extension"][1]["valueDateTime"] for x in by_type["Procedure"]["extension"]
        if x["url"].endswith("/signature"))
    # a stale tag or an old date reads the resource again; an unreadable date is ignored
    cond = by_type["Condition"]
    path = f"/fhir/Condition/{cond['id']}"
    assert api.get("doc", path, headers={"If-None-Match": 'W/"99"'}).status_code == 200
    assert api.get("doc", path, headers={"If-None-Match": "*"}).status_code == 304
    assert api.get("doc", path, headers={
        "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    assert api.get("doc", path, headers={
        "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}).status_code == 304
    for unreadable in ("soon", "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
                       "Mon, 01 Jan 2001 00:00:00 +9999"):
        assert api.get("doc", path, headers={"If-Modified-Since": unreadable}
                       ).status_code == 200, unreadable
    # a change gives a new version, a new time and a new tag; the old tag no longer matches
    before = api.get("doc", path)
    change_condition(api.url, int(cond["id"]))
    after = api.get("doc", path, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] == 'W/"2"'
    assert after.json()["meta"]["versionId"] == "2"
    assert after.json()["meta"]["lastUpdated"] > cond["meta"]["lastUpdated"]
    # conditional reads keep the access rules: no 304 for what the user may not read
    assert api.get("doc_b", path, headers={"If-None-Match": "*"}).status_code == 404
    assert api.get("pat2", path, headers={"If-None-Match": "*"}).status_code == 403
    # search results carry the same meta as reads
    found = entries(api.get("doc", "/fhir/Condition", params={"patient": str(p1)}))
    assert found[0]["meta"] == after.json()["meta"]

    # _lastUpdated on every searchable type: today's changes, none before 2000
    today = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()  # the template's day
    for t in TYPES:
        if t == "Medication":  # read only
            continue
        recent = entries(api.get("doc", f"/fhir/{t}", params={"_lastUpdated": f"ge{today}"}))
        assert recent, t
        assert entries(api.get("doc", f"/fhir/{t}", params={"_lastUpdated": "lt2000"})) == []
    # the search's time of change is the resource's meta.lastUpdated, kind by kind
    for r in everything:
        if r["resourceType"] == "Medication":
            continue
        day = r["meta"]["lastUpdated"][:10]  # written in UTC
        path = f"/fhir/{r['resourceType']}"
        assert keys(entries(api.get("doc", path, params={
            "_id": r["id"], "_lastUpdated": f"eq{day}"}))) == keys([r]), r
        assert entries(api.get("doc", path, params={
            "_id": r["id"], "_lastUpdated": f"lt{day}"})) == [], r
    # an outcome's time of change is when it was recorded (migration 0019), not when it
    # was measured (one of them on 2026-11-20): a Bulk _since export finds it
    outcomes = [r for r in everything if r["resourceType"] == "Observation"
                and not r["id"].startswith("weight-")]
    assert any(o["effectiveDateTime"][:10] == "2026-11-20" for o in outcomes)
    assert all(datetime.fromisoformat(o["meta"]["lastUpdated"]) >= started for o in outcomes)

    # _sort: dates either way, _lastUpdated, a comma list; anything else is refused
    def order(path: str, sort: str, field: str, **params: str) -> list[str]:
        found = entries(api.get("doc", path, params={"_sort": sort, **params}))
        return [r.get(field) or r["meta"]["lastUpdated"] for r in found]

    dates = order("/fhir/Observation", "-date", "effectiveDateTime", code="modified_ashworth")
    assert dates == sorted(dates, reverse=True) and len(dates) == 2
    births = order("/fhir/Patient", "birthdate", "birthDate")
    assert births == ["1960-04-02", "2016-05-01"]
    assert order("/fhir/Patient", "-birthdate", "birthDate") == births[::-1]
    changes = order("/fhir/Condition", "-_lastUpdated,_id", "none")
    assert changes == sorted(changes, reverse=True)
    procedures = entries(api.get("doc", "/fhir/Procedure", params={"_sort": "-_lastUpdated"}))
    assert [r["id"] for r in procedures] == [str(made["override_cycle"]), str(made["cycle"])]
    for bad in ("name", "date", "-nonsense", "_id,birthdat"):
        r = api.get("doc", "/fhir/Patient", params={"_sort": bad})
        assert r.status_code == 400 and "_sort" in r.text, bad


def test_include_and_revinclude_bring_only_what_the_user_may_read(api):
    made = full_record(api)
    p1, p2, cycle = api.ids["p1"], api.ids["p2"], made["cycle"]
    # _include: each matched resource's referenced subject, once, as search.mode include
    r = api.get("doc", "/fhir/Observation",
                params={"patient": str(p1), "_include": "Observation:subject"})
    assert keys(entries(r, "include")) == {f"Patient/{p1}"}
    assert all(e["search"]["mode"] == "match" for e in r.json()["entry"]
               if e["resource"]["resourceType"] == "Observation")
    assert r.json()["total"] == len(entries(r, "match"))  # includes are not counted
    assert "_include=Observation%3Asubject" in r.json()["link"][0]["url"]
    r = api.get("doc", "/fhir/Observation",
                params={"patient": str(p1), "_include": "Observation:part-of:Procedure"})
    assert keys(entries(r, "include")) == {f"Procedure/{cycle}"}
    r = api.get("doc", "/fhir/MedicationAdministration", params=[
        ("patient", str(p1)), ("_include", "MedicationAdministration:medication"),
        ("_include", "MedicationAdministration:context"),
        ("_include", "MedicationAdministration:patient")])
    included = entries(r, "include")
    assert {x["resourceType"] for x in included} == {"Medication", "Encounter", "Patient"}
    assert len(included) == 3  # the cycle's one vial, its encounter, the patient: once each
    r = api.get("doc", "/fhir/Procedure", params={"_id": str(cycle),
                                                  "_include": "Procedure:encounter"})
    assert keys(entries(r, "include")) == {f"Encounter/{cycle}"}
    # _revinclude: the patients' sessions and injections
    r = api.get("doc", "/fhir/Patient", params=[
        ("identifier", "A-1,A-2"), ("_revinclude", "Procedure:subject"),
        ("_revinclude", "MedicationAdministration:patient")])
    assert keys(entries(r, "match")) == {f"Patient/{p1}", f"Patient/{p2}"}
    assert {x["resourceType"] for x in entries(r, "include")} == {
        "Procedure", "MedicationAdministration"}
    assert f"Procedure/{made['override_cycle']}" in keys(entries(r, "include"))
    # unknown or unlisted include targets: 400, or ignored and named when lenient
    for name, value in (("_include", "Observation:performer"), ("_include", "Patient:subject"),
                        ("_include", "*"), ("_include", "Observation:subject:Group"),
                        ("_revinclude", "Procedure:subject"), ("_include:iterate",
                                                               "Observation:subject")):
        r = api.get("doc", "/fhir/Observation", params={name: value})
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", value
    r = api.get("doc", "/fhir/Observation", params={"_include": "Observation:performer"},
                headers={"Prefer": "handling=lenient"})
    assert r.status_code == 200 and entries(r, "include") == []
    assert "Observation:performer" in entries(r, "outcome")[0]["issue"][0]["diagnostics"]

    # the patient role: their own record only, and never a plan (p2's cycle is a draft)
    r = api.get("pat2", "/fhir/Patient", params={"_revinclude": "Procedure:subject"})
    assert keys(entries(r, "match")) == {f"Patient/{p2}"} and entries(r, "include") == []
    r = api.get("pat", "/fhir/Patient", params={"_revinclude": "Procedure:subject"})
    assert keys(entries(r, "include")) == {f"Procedure/{cycle}"}
    # another clinic's clinician sees none of it, by search or by include
    r = api.get("doc_b", "/fhir/Patient", params={"_revinclude": "Procedure:subject"})
    assert keys(entries(r, "include")) == set()

    # a reference that leads out of the record (written straight into the database: the
    # API cannot) is not followed: another clinic's session, another patient's plan
    b_patient = api.ids["pb"]
    other = api.post("doc_b", f"/api/v1/patients/{b_patient}/cycles", uls_cycle())
    assert other.status_code == 201, other.text
    engine = sa.create_engine(api.url)
    with engine.begin() as c:
        ids = c.execute(sa.text("SELECT id FROM outcomes WHERE patient_id = :p ORDER BY id"),
                        {"p": p1}).scalars().all()
        c.execute(sa.text("UPDATE outcomes SET cycle_id = :c WHERE id = :o"),
                  {"c": other.json()["id"], "o": ids[0]})
        c.execute(sa.text("UPDATE outcomes SET cycle_id = :c WHERE id = :o"),
                  {"c": made["override_cycle"], "o": ids[1]})
    engine.dispose()
    for who, allowed in (("doc", {f"Procedure/{made['override_cycle']}"}), ("pat", set())):
        r = api.get(who, "/fhir/Observation",
                    params={"patient": str(p1), "_include": "Observation:part-of"})
        assert len(entries(r, "match")) >= 2
        assert keys(entries(r, "include")) == allowed, who


def test_the_capability_statement_tells_what_search_and_read_do(api):
    cs = api.client.get("/fhir/metadata").json()
    types = {res["type"]: res for res in cs["rest"][0]["resource"]}
    for t in TYPES:
        res = types[t]
        assert res["versioning"] == "versioned" and res["readHistory"] is False
        assert res["conditionalRead"] == "full-support"
    assert "Observation:subject" in types["Observation"]["searchInclude"]
    assert "Procedure:subject" in types["Patient"]["searchRevInclude"]
    assert "searchRevInclude" not in types["Observation"]
    # every include and revinclude it lists is served, and one it does not list is refused
    for t, res in types.items():
        for name, listed in (("_include", res.get("searchInclude", [])),
                             ("_revinclude", res.get("searchRevInclude", []))):
            for value in listed:
                r = api.get("doc", f"/fhir/{t}", params={name: value, "_count": "1"})
                assert r.status_code == 200, (t, value, r.text)
            if {"code": "search-type"} in res["interaction"]:
                r = api.get("doc", f"/fhir/{t}", params={name: f"{t}:nonsense"})
                assert r.status_code == 400, (t, name)
        sort = next((p for p in res.get("searchParam", []) if p["name"] == "_sort"), None)
        if sort is None:
            continue
        listed = sort["documentation"].removeprefix("sort keys: ").split(" (")[0]
        for key in listed.split(", "):
            for value in (key, f"-{key}"):
                r = api.get("doc", f"/fhir/{t}", params={"_sort": value, "_count": "1"})
                assert r.status_code == 200, (t, value, r.text)
        assert api.get("doc", f"/fhir/{t}", params={"_sort": "nonsense"}).status_code == 400
