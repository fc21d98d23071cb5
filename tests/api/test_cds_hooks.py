"""CDS Hooks 2.0 on SQLite and PostgreSQL: an EHR registered with its JWKS calls order-select
and order-sign with the spec's request shapes; the plan check runs with the patient's history
in bontrack and answers cards. JWTs are signed here with keys generated for the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import Api, uls_cycle
from tests.cds.drafts import bundle, dose, order, site
from tests.cds.ehr import Ehr, ehr_patient, hook_request

SIGN = "/cds-services/bontrack-order-sign"
SELECT = "/cds-services/bontrack-order-select"
AUD = "http://testserver"


@pytest.fixture
def ehr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ehr:
    e = Ehr()
    monkeypatch.setenv("BONTRACK_CDS_CLIENTS", str(e.register(tmp_path / "cds.json")))
    return e


def call(api: Api, ehr: Ehr, path: str, body: Any, **token: Any) -> Any:
    headers = {"Authorization": f"Bearer {ehr.token(AUD + path, **token)}"}
    return api.client.post(path, json=body, headers=headers)


def given_cycle(api: Api, day: str = "2026-11-24") -> int:
    """A signed BOTOX upper-limb cycle of 150 U for patient A-1 (the stored history)."""
    r = api.post("doc", f"/api/v1/patients/{api.ids['p1']}/cycles", uls_cycle(date=day))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert api.post("doc", f"/api/v1/cycles/{cid}/sign",
                    headers={"If-Match": '"1"'}).status_code == 200
    return int(cid)


def botox_order(units: int, day: str = "2026-12-10", oid: str = "bx1") -> dict[str, Any]:
    res = order(oid, "BOTOX 200 unit vial", dose(site("left biceps brachii"), units, sites=4),
                reason="upper limb spasticity")
    res["dosageInstruction"][0]["timing"] = {"event": [day]}
    return res


def codes(cards: list[dict[str, Any]], indicator: str | None = None) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards
            if indicator is None or c["indicator"] == indicator]


def test_discovery_lists_order_select_and_order_sign_with_a_patient_prefetch(api: Api) -> None:
    r = api.client.get("/cds-services")
    assert r.status_code == 200
    services = {s["hook"]: s for s in r.json()["services"]}
    assert set(services) == {"order-select", "order-sign"}
    for s in services.values():
        assert s["prefetch"] == {"patient": "Patient/{{context.patientId}}"}
        assert s["id"] and s["description"]


def test_order_sign_stops_a_retreatment_too_soon_using_the_history_in_bontrack(
        api: Api, ehr: Ehr) -> None:
    given_cycle(api)
    body = hook_request("order-sign", bundle(botox_order(100)),
                        patient=ehr_patient("A-1", "1960-04-02"))
    r = call(api, ehr, SIGN, body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert "RETREATMENT_TOO_SOON" in codes(critical)
    card = next(c for c in critical if c["source"]["topic"]["code"] == "RETREATMENT_TOO_SOON")
    assert "Value: 16 days" in card["detail"] and "Limit: 84 days" in card["detail"]
    assert "BOTOX" in card["source"]["label"] or "PI" in card["source"]["label"] \
        or card["source"]["label"] != "bontrack plan check"
    planner = f"{AUD}/patients/{api.ids['p1']}/cycles/new"
    assert all(c["links"][0]["url"] == planner for c in cards)
    assert all(len(c["summary"]) <= 140 and c["uuid"] for c in cards)
    events = audit_events(api.url, api.ids["p1"])
    assert any(a == "read" and e == "patient" and "cds order-sign" in d for a, e, d in events)


def test_the_cumulative_limit_counts_the_stored_cycle(api: Api, ehr: Ehr) -> None:
    given_cycle(api)
    body = hook_request("order-select", bundle(botox_order(300)),
                        patient=ehr_patient("A-1", "1960-04-02"))
    cards = call(api, ehr, SELECT, body).json()["cards"]
    assert "CUMULATIVE_MAX_EXCEEDED" in codes(cards, "critical")
    card = next(c for c in cards if c["source"]["topic"]["code"] == "CUMULATIVE_MAX_EXCEEDED")
    assert "Value: 450 U" in card["detail"] and "Limit: 400 U" in card["detail"]


def test_a_draft_mixing_two_products_checks_each_alone_and_says_so(api: Api, ehr: Ehr) -> None:
    dysport = order("dy1", "Dysport 500 units", dose(site("right biceps brachii"), 400, sites=4),
                    reason="upper limb spasticity")
    dysport["dosageInstruction"][0]["timing"] = {"event": ["2026-12-10"]}
    body = hook_request("order-select", bundle(botox_order(350), dysport),
                        patient=ehr_patient("A-1", "1960-04-02"),
                        selections=["MedicationRequest/dy1"])
    r = call(api, ehr, SELECT, body)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    mixed = [c for c in cards if c["summary"].startswith("Two botulinum toxin products")]
    assert len(mixed) == 1 and mixed[0]["indicator"] == "warning"
    assert mixed[0]["source"]["topic"]["code"] == "UNITS_NOT_INTERCHANGEABLE"
    assert "BOTOX 350 U" in mixed[0]["detail"] and "DYSPORT 400 U" in mixed[0]["detail"]
    assert "never added or converted" in mixed[0]["detail"]
    assert mixed[0]["source"]["label"] != "bontrack plan check"  # the labels' units statements
    # each product's own total, never 750
    assert not any("750" in c["summary"] + c["detail"] for c in cards)
    products = {c["summary"].split(":")[0] for c in cards if c["source"]["topic"]["code"]
                not in ("UNITS_NOT_INTERCHANGEABLE",)}
    assert {"BOTOX", "DYSPORT"} <= products


def test_without_prefetch_the_patient_is_found_in_the_store_by_the_ehr_id(
        api: Api, ehr: Ehr) -> None:
    given_cycle(api)
    body = hook_request("order-sign", bundle(botox_order(100)), patient_id="A-1")
    cards = call(api, ehr, SIGN, body).json()["cards"]
    assert "RETREATMENT_TOO_SOON" in codes(cards, "critical")
    assert "PATIENT_NOT_IN_BONTRACK" not in codes(cards)


def test_a_patient_not_in_bontrack_is_checked_on_the_label_and_told_history_was_not(
        api: Api, ehr: Ehr) -> None:
    body = hook_request("order-sign", bundle(botox_order(450)),
                        patient=ehr_patient("NOPE-9", "1970-01-01"))
    cards = call(api, ehr, SIGN, body).json()["cards"]
    assert "SESSION_MAX_EXCEEDED" in codes(cards, "critical")
    assert "PATIENT_NOT_IN_BONTRACK" in codes(cards, "info")
    assert all("links" not in c for c in cards)


def test_another_clinics_patient_is_not_found(api: Api, ehr: Ehr) -> None:
    body = hook_request("order-sign", bundle(botox_order(100)), patient_id="B-1")
    cards = call(api, ehr, SIGN, body).json()["cards"]
    assert "PATIENT_NOT_IN_BONTRACK" in codes(cards)
    assert all("links" not in c for c in cards)


def test_a_birth_date_that_differs_is_not_taken_for_the_same_patient(api: Api, ehr: Ehr) -> None:
    given_cycle(api)
    body = hook_request("order-sign", bundle(botox_order(100)),
                        patient=ehr_patient("A-1", "1961-01-01"))
    cards = call(api, ehr, SIGN, body).json()["cards"]
    assert "PATIENT_IDENTITY_MISMATCH" in codes(cards, "warning")
    assert "RETREATMENT_TOO_SOON" not in codes(cards)


def test_what_was_not_checked_is_said_as_info(api: Api, ehr: Ehr) -> None:
    res = order("x1", "BOTOX", dose(site("left biceps brachii"), 100), reason="upper limb "
                "spasticity")
    body = hook_request("order-sign", bundle(res), patient=ehr_patient("A-1", "1960-04-02"))
    cards = call(api, ehr, SIGN, body).json()["cards"]
    per_site = [c for c in cards if "per injection site NOT checked" in c["summary"]]
    assert per_site and per_site[0]["indicator"] == "info"
    assert "SITE_DOSE_ABOVE_MAX" not in codes(cards)  # 100 U is the muscle's, not one site's


def test_an_unknown_indication_is_said_not_checked(api: Api, ehr: Ehr) -> None:
    res = order("x1", "BOTOX", dose(site("left biceps brachii"), 100, sites=2),
                reason="wrist pain")
    body = hook_request("order-sign", bundle(res), patient=ehr_patient("A-1", "1960-04-02"))
    cards = call(api, ehr, SIGN, body).json()["cards"]
    assert [c["indicator"] for c in cards if "indication unknown" in c["summary"]] == ["info"]


def test_an_order_without_a_toxin_gets_no_cards(api: Api, ehr: Ehr) -> None:
    body = hook_request("order-sign", bundle(order("s1", "atorvastatin 20 mg")),
                        patient=ehr_patient("A-1", "1960-04-02"))
    r = call(api, ehr, SIGN, body)
    assert r.status_code == 200 and r.json() == {"cards": []}


def test_rs384_is_accepted(api: Api, ehr: Ehr) -> None:
    body = hook_request("order-sign", bundle(botox_order(100)), patient_id="A-1")
    assert call(api, ehr, SIGN, body, alg="RS384").status_code == 200


REFUSED = [
    ("expired", {"lifetime": -120}),
    ("signed by another key", {"key": ec.generate_private_key(ec.SECP384R1())}),
    ("for another service", {"aud": AUD + SELECT}),
    ("from an unregistered issuer", {"iss": "https://evil.example"}),
    ("a jti with a NUL", {"jti": "a\x00b"}),
    ("without a jti", {"drop": ("jti",)}),
    ("without an exp", {"drop": ("exp",)}),
    ("without a sub", {"drop": ("sub",)}),
    ("living too long", {"lifetime": 7200}),
    ("ES256 is not the spec's", {"alg": "ES256", "key": ec.generate_private_key(ec.SECP256R1())}),
]


@pytest.mark.parametrize(("case", "claims"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_bad_token_is_refused_with_401_as_json(api: Api, ehr: Ehr, case: str,
                                                 claims: dict[str, Any]) -> None:
    body = hook_request("order-sign", bundle(botox_order(100)), patient_id="A-1")
    claims = dict(claims)
    token = ehr.token(claims.pop("aud", AUD + SIGN), **claims)
    r = api.client.post(SIGN, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 401


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-jwt", "Basic abc",
                                    "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."])
def test_a_missing_or_unreadable_token_is_refused_with_401(api: Api, ehr: Ehr,
                                                           header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = api.client.post(SIGN, json={"hook": "order-sign"}, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["status"] == 401


def test_a_replayed_token_is_refused(api: Api, ehr: Ehr) -> None:
    body = hook_request("order-sign", bundle(botox_order(100)), patient_id="A-1")
    token = ehr.token(AUD + SIGN)
    h = {"Authorization": f"Bearer {token}"}
    assert api.client.post(SIGN, json=body, headers=h).status_code == 200
    again = api.client.post(SIGN, json=body, headers=h)
    assert again.status_code == 401 and "replayed" in again.json()["detail"]
    engine = sa.create_engine(api.url)
    with engine.connect() as c:
        refused = c.execute(sa.text("SELECT detail FROM audit_events WHERE entity = 'cds_hook' "
                                    "AND outcome = 'denied'")).scalars().all()
    engine.dispose()
    assert len(refused) == 1 and "replayed" in refused[0]


def test_without_a_registry_every_call_is_refused(api: Api, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    monkeypatch.delenv("BONTRACK_CDS_CLIENTS", raising=False)
    e = Ehr()
    r = api.client.post(SIGN, json={}, headers={"Authorization": f"Bearer {e.token(AUD + SIGN)}"})
    assert r.status_code == 401


BAD_BODIES: list[tuple[str, Any]] = [
    ("not JSON", b"{nope"),
    ("a list", b"[]"),
    ("another hook", {"hook": "patient-view", "hookInstance": "x", "context": {}}),
    ("no context", {"hook": "order-sign", "hookInstance": "x"}),
    ("no patient", {"hook": "order-sign", "hookInstance": "x", "context": {"draftOrders": {}}}),
    ("no draft orders", {"hook": "order-sign", "hookInstance": "x",
                         "context": {"patientId": "A-1"}}),
    ("junk draft orders", {"hook": "order-sign", "hookInstance": "x",
                           "context": {"patientId": "A-1", "draftOrders": [1, None]}}),
    ("a prefetch that is no Patient", {"hook": "order-sign", "hookInstance": "x",
                                       "context": {"patientId": "A-1", "draftOrders": {}},
                                       "prefetch": {"patient": {"resourceType": "Group"}}}),
    ("NUL characters everywhere", {"hook": "order-sign", "hookInstance": "x\x00y",
                                   "context": {"patientId": "A\x00-1", "draftOrders": {
                                       "resourceType": "Bundle", "entry": [{"resource": order(
                                           "n\x00", "BOTOX\x00", dose(site("left\x00 biceps"),
                                                                      10))}]}},
                                   "prefetch": {"patient": {"resourceType": "Patient",
                                                            "identifier": [{"value": "A-1\x00",
                                                                            "type": {}}]}}}),
    ("a prefetch of junk", {"hook": "order-sign", "hookInstance": "x",
                            "context": {"patientId": "A-1", "draftOrders": {}},
                            "prefetch": {"patient": {"resourceType": "Patient",
                                                     "identifier": [1, {"value": 2}],
                                                     "birthDate": 7}}}),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_bodies_answer_a_json_error_or_cards_never_a_5xx(api: Api, ehr: Ehr, case: str,
                                                             body: Any) -> None:
    token = ehr.token(AUD + SIGN)
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    import json

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = api.client.post(SIGN, content=raw, headers=h)
    assert r.status_code < 500, r.text
    assert r.headers["content-type"].startswith(("application/json",
                                                 "application/problem+json"))
    if r.status_code == 200:
        assert isinstance(r.json()["cards"], list)


def test_an_unknown_service_is_404_as_json(api: Api, ehr: Ehr) -> None:
    r = api.client.post("/cds-services/nope", json={})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def audit_events(url: str, patient_id: int) -> list[tuple[str, str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT action, entity, detail FROM audit_events WHERE "
                                 "patient_id = :p ORDER BY id"), {"p": patient_id}).all()
    engine.dispose()
    return [(r[0], r[1], r[2]) for r in rows]



def test_behind_a_proxy_the_public_url_is_the_audience_and_the_planner_link(
        api: Api, ehr: Ehr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    public = "https://bontrack.example-hospital.org"
    monkeypatch.setenv("BONTRACK_CDS_CLIENTS", str(ehr.register(tmp_path / "proxy.json",
                                                                audience=public)))
    body = hook_request("order-sign", bundle(botox_order(100)), patient_id="A-1")
    token = ehr.token(public + SIGN)
    r = api.client.post(SIGN, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert {c["links"][0]["url"] for c in r.json()["cards"]} == {
        f"{public}/patients/{api.ids['p1']}/cycles/new"}
    assert call(api, ehr, SIGN, body).status_code == 401  # aud: the internal URL


def test_a_link_to_the_bontrack_record_finds_the_patient(api: Api, ehr: Ehr) -> None:
    given_cycle(api)
    ehr_pat = ehr_patient("EHR-77", "1960-04-02")
    ehr_pat["link"] = [{"type": "seealso",
                        "other": {"reference": f"{AUD}/fhir/Patient/{api.ids['p1']}"}}]
    body = hook_request("order-sign", bundle(botox_order(100)), patient=ehr_pat)
    cards = call(api, ehr, SIGN, body).json()["cards"]
    assert "RETREATMENT_TOO_SOON" in codes(cards, "critical")
    # another clinic's record is never reached by a link
    ehr_pat["link"][0]["other"]["reference"] = f"{AUD}/fhir/Patient/{api.ids['pb']}"
    ehr_pat["birthDate"] = "1970-01-01"
    body = hook_request("order-sign", bundle(botox_order(100)), patient=ehr_pat)
    assert "PATIENT_NOT_IN_BONTRACK" in codes(call(api, ehr, SIGN, body).json()["cards"])
