"""CDS Hooks against a real ``bontrack serve`` process, called with httpx as an EHR calls it:
discovery; order-select with selections and a draftOrders Bundle; order-sign; a draft that
mixes products; no prefetch (the patient from the store); a bad JWT (401)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import seed, uls_cycle
from tests.cds.drafts import bundle, dose, order, site
from tests.cds.ehr import Ehr, ehr_patient, hook_request
from tests.conftest import fresh_database
from tests.reliability.harness import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Ehr, int]]:
    tmp = tmp_path_factory.mktemp("cds")
    url, drop = fresh_database("sqlite", tmp)
    ids = seed(url)
    ehr = Ehr()
    mp = pytest.MonkeyPatch()
    mp.setenv("BONTRACK_CDS_CLIENTS", str(ehr.register(tmp / "cds-clients.json")))
    mp.setenv("BONTRACK_MFA_REQUIRED", "off")
    proc = ServerProcess(url, tmp / "server.log")
    proc.start()
    try:
        h = proc.token("doc")
        r = httpx.post(f"{proc.base}/api/v1/patients/{ids['p1']}/cycles", headers=h,
                       json=uls_cycle(date="2026-11-24"), timeout=30)
        assert r.status_code == 201, r.text
        r = httpx.post(f"{proc.base}/api/v1/cycles/{r.json()['id']}/sign",
                       headers={**h, "If-Match": '"1"'}, timeout=30)
        assert r.status_code == 200, r.text
        yield proc, ehr, ids["p1"]
    finally:
        proc.stop()
        mp.undo()
        drop()


def post(server: tuple[ServerProcess, Ehr, int], service: str, body: Any,
         token: str | None = None) -> httpx.Response:
    proc, ehr, _ = server
    url = f"{proc.base}/cds-services/{service}"
    token = token or ehr.token(url)
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def botox(oid: str, units: int, muscle: str = "left biceps brachii") -> dict[str, Any]:
    res = order(oid, {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                  "display": "BOTOX 200 UNT Injection"}]},
                dose(site(muscle), units, sites=4), icd="I69.331")
    res["dosageInstruction"][0]["timing"] = {"event": ["2026-12-10"]}
    return res


def codes(r: httpx.Response, indicator: str) -> set[str]:
    assert r.status_code == 200, r.text
    return {c["source"]["topic"]["code"] for c in r.json()["cards"]
            if c["indicator"] == indicator}


def test_discovery_over_http(server: tuple[ServerProcess, Ehr, int]) -> None:
    r = httpx.get(f"{server[0].base}/cds-services", timeout=30)
    assert r.status_code == 200
    assert {s["id"] for s in r.json()["services"]} == {"bontrack-order-select",
                                                       "bontrack-order-sign"}


def test_order_select_with_selections_and_draft_orders(
        server: tuple[ServerProcess, Ehr, int]) -> None:
    drafts = bundle(botox("b1", 100), botox("b2", 100, "right biceps brachii"))
    body = hook_request("order-select", drafts, patient=ehr_patient("A-1", "1960-04-02"),
                        selections=["MedicationRequest/b2"])
    r = post(server, "bontrack-order-select", body)
    assert "RETREATMENT_TOO_SOON" in codes(r, "critical")
    assert all(c["links"][0]["url"].endswith(f"/patients/{server[2]}/cycles/new")
               for c in r.json()["cards"])


def test_order_sign_of_a_mixed_product_draft(server: tuple[ServerProcess, Ehr, int]) -> None:
    xeomin = order("x1", "XEOMIN 100 units", dose(site("right brachioradialis"), 60, sites=2),
                   reason="upper limb spasticity")
    body = hook_request("order-sign", bundle(botox("b1", 100), xeomin),
                        patient=ehr_patient("A-1", "1960-04-02"))
    r = post(server, "bontrack-order-sign", body)
    mixed = [c for c in r.json()["cards"] if c["summary"].startswith("Two botulinum")]
    assert len(mixed) == 1 and mixed[0]["indicator"] == "warning"
    assert "BOTOX 100 U" in mixed[0]["detail"] and "XEOMIN 60 U" in mixed[0]["detail"]
    assert "160" not in r.text  # the two products' units are never added


def test_order_sign_without_prefetch_reads_the_patient_from_the_store(
        server: tuple[ServerProcess, Ehr, int]) -> None:
    body = hook_request("order-sign", bundle(botox("b1", 300)), patient_id="A-1")
    assert {"RETREATMENT_TOO_SOON", "CUMULATIVE_MAX_EXCEEDED"} <= codes(r := post(
        server, "bontrack-order-sign", body), "critical"), r.text


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."])
def test_a_bad_jwt_is_refused_with_401(server: tuple[ServerProcess, Ehr, int],
                                       token: str) -> None:
    body = hook_request("order-sign", bundle(botox("b1", 100)), patient_id="A-1")
    r = post(server, "bontrack-order-sign", body, token=token)
    assert r.status_code == 401
    assert r.json()["status"] == 401


def test_a_token_for_the_other_service_is_refused(server: tuple[ServerProcess, Ehr, int]
                                                  ) -> None:
    proc, ehr, _ = server
    wrong = ehr.token(f"{proc.base}/cds-services/bontrack-order-select")
    body = hook_request("order-sign", bundle(botox("b1", 100)), patient_id="A-1")
    assert post(server, "bontrack-order-sign", body, token=wrong).status_code == 401


def test_the_server_printed_no_traceback(server: tuple[ServerProcess, Ehr, int]) -> None:
    assert "Traceback" not in server[0].tail(200_000)

