"""Forbidden access per role and across clinics; every denial is audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.api.conftest import uls_cycle


def test_nobody_without_a_token_gets_in(api):
    r = api.client.get(f"/api/v1/patients/{api.ids['p1']}")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = api.client.get("/api/v1/patients", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401


def test_repeated_wrong_passwords_slow_that_address_but_do_not_lock_the_account(
        api, monkeypatch):
    # the clock stands still, so the wait cannot run out between two slow argon2 hashes
    from datetime import UTC, datetime

    from bontrack.services import accounts

    still = datetime.now(UTC)
    monkeypatch.setattr(accounts, "_now", lambda: still)
    for _ in range(5):
        r = api.client.post("/api/v1/auth/token", json={"username": "nurse",
                                                         "password": "wrong password"})
        assert r.status_code == 401
    # this address now waits, and is told nothing more than "wrong"
    r = api.client.post("/api/v1/auth/token", json={"username": "nurse",
                                                     "password": "correct horse battery"})
    assert r.status_code == 401 and "wrong username or password" in r.json()["detail"]


@pytest.mark.parametrize("path", ["", "/timeline", "/cycles", "/outcomes", "/goals",
                                  "/side-effects", "/diary", "/conditions"])
def test_another_clinics_patient_is_not_found(api, path):
    r = api.get("doc_b", f"/api/v1/patients/{api.ids['p1']}{path}")
    assert r.status_code == 404


def test_another_clinics_cycle_cannot_be_read_or_signed(api):
    cid = api.post("doc", f"/api/v1/patients/{api.ids['p1']}/cycles", uls_cycle()).json()["id"]
    assert api.get("doc_b", f"/api/v1/cycles/{cid}").status_code == 404
    assert api.post("doc_b", f"/api/v1/cycles/{cid}/sign",
                    headers={"If-Match": '"1"'}).status_code == 404


def test_search_never_lists_another_clinics_patients(api):
    mrns = {p["mrn"] for p in api.get("doc_b", "/api/v1/patients").json()["items"]}
    assert mrns == {"B-1"}


def test_patient_reads_only_their_own_record(api):
    assert api.get("pat", f"/api/v1/patients/{api.ids['p1']}").status_code == 200
    assert api.get("pat", f"/api/v1/patients/{api.ids['p2']}").status_code == 403
    assert api.get("pat", f"/api/v1/patients/{api.ids['p2']}/timeline").status_code == 403
    assert api.get("pat", "/api/v1/patients").status_code == 403


@pytest.mark.parametrize(
    ("who", "method", "path", "body"),
    [
        ("pat", "post", "/api/v1/patients", {"mrn": "X", "display_name": "X",
                                             "birth_date": "1990-01-01"}),
        ("pat", "post", "/api/v1/patients/{p1}/cycles", uls_cycle()),
        ("pat", "post", "/api/v1/patients/{p1}/outcomes",
         {"scale": "pain_nrs", "value": "3", "measured_at": "2026-11-24T10:00:00Z"}),
        ("admin", "post", "/api/v1/patients/{p1}/cycles", uls_cycle()),
        ("admin", "post", "/api/v1/patients/{p1}/goals", {"description": "walk further"}),
        ("nurse", "post", "/api/v1/patients/{p1}/diary", {"entry_date": "2026-11-24"}),
    ],
)
def test_role_rules_refuse_with_403(api, who, method, path, body):
    r = getattr(api, method)(who, path.format(**api.ids), body)
    assert r.status_code == 403, r.text


def test_denials_and_reads_are_in_the_audit_trail(api):
    api.get("pat", f"/api/v1/patients/{api.ids['p2']}")
    api.get("doc", f"/api/v1/patients/{api.ids['p1']}")
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        rows = c.execute(sa.text(
            "SELECT action, entity, patient_id, outcome FROM audit_events "
            "WHERE action IN ('get', 'read') ORDER BY id")).all()
    engine.dispose()
    assert ("get", "patient", api.ids["p2"], "denied") in [tuple(r) for r in rows]
    assert ("read", "patient", api.ids["p1"], "ok") in [tuple(r) for r in rows]


def test_a_write_and_its_audit_event_commit_together(api):
    engine = sa.create_engine(api.url)

    def count() -> int:
        with engine.connect() as c:
            return c.execute(sa.text("SELECT count(*) FROM audit_events WHERE "
                                     "entity = 'cycle' AND action = 'create'")).scalar()

    before = count()
    bad = uls_cycle(injections=[{"muscle": "biceps_brachii", "side": "left", "units": 900,
                                 "sites": 9}])
    assert api.post("doc", f"/api/v1/patients/{api.ids['p1']}/cycles", bad).status_code == 422
    assert count() == before  # the refused cycle left no cycle and no audit event
    assert api.post("doc", f"/api/v1/patients/{api.ids['p1']}/cycles",
                    uls_cycle()).status_code == 201
    assert count() == before + 1
    engine.dispose()


@pytest.mark.parametrize("assessment", [{"serious": True}, {"outcome": "fatal"},
                                        {"relatedness": "related"}])
def test_a_patient_reports_a_side_effect_but_not_the_clinicians_assessment(api, assessment):
    """What happened, when and how bad are the patient's to report; seriousness, outcome and
    relatedness are the clinician's (the patient's form does not offer them)."""
    path = f"/api/v1/patients/{api.ids['p1']}/side-effects"
    base = {"term": "sore arm", "onset": "2026-11-20", "severity": "mild"}
    r = api.post("pat", path, {**base, **assessment})
    field = next(iter(assessment))
    assert r.status_code == 403 and r.json()["detail"].startswith(f"{field}:"), r.text
    assert api.post("pat", path, base).status_code == 201
    assert api.post("doc", path, {**base, **assessment}).status_code == 201


def test_a_patient_cannot_tell_a_planned_cycle_from_no_cycle(api):
    """A draft is hidden from the patient: attaching a side effect to it is answered as for
    a cycle that does not exist, not told apart."""
    draft = api.post("doc", f"/api/v1/patients/{api.ids['p1']}/cycles", uls_cycle()).json()["id"]
    path = f"/api/v1/patients/{api.ids['p1']}/side-effects"
    base = {"term": "sore arm", "onset": "2026-11-20", "severity": "mild"}
    to_draft = api.post("pat", path, {**base, "cycle_id": draft})
    to_none = api.post("pat", path, {**base, "cycle_id": 99_999_999})
    assert to_draft.status_code == to_none.status_code == 422
    assert to_draft.json()["detail"].replace(str(draft), "N") == \
        to_none.json()["detail"].replace("99999999", "N")
    assert api.post("doc", path, {**base, "cycle_id": draft}).status_code == 201
