"""The registry of EHRs allowed to call the CDS Hooks services, and the check of their JWTs
(the parts that need no database: the file, the signature, the claims, the key's origin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bontrack.errors import DocumentError, NotAuthenticated
from bontrack.services.cds_clients import parse_clients, registered_clients, verify
from tests.cds.ehr import ISSUER, Ehr

BASE = "https://bontrack.example"
URL = f"{BASE}/cds-services/bontrack-order-sign"


@pytest.fixture(scope="module")
def ehr() -> Ehr:
    return Ehr()


def entry(ehr: Ehr, **over: Any) -> dict[str, Any]:
    return {ISSUER: {"clinic": "Clinic A", "account": "doc", "jwks": ehr.jwks(), **over}}


BAD_FILES: list[tuple[str, Any, str]] = [
    ("not a mapping", [], "mapping of issuer"),
    ("empty", {}, "mapping of issuer"),
    ("an entry that is no mapping", {ISSUER: "x"}, "expected a mapping"),
    ("no clinic", {ISSUER: {"account": "doc", "jku": ["https://e/jwks"]}}, "clinic"),
    ("no account", {ISSUER: {"clinic": "A", "jku": ["https://e/jwks"]}}, "account"),
    ("no keys", {ISSUER: {"clinic": "A", "account": "doc"}}, "jwks (inline) or jku"),
    ("a JWKS that is not one", {ISSUER: {"clinic": "A", "account": "d", "jwks": {"keys": 3}}},
     "not a usable JWKS"),
    ("a jku over plain http", {ISSUER: {"clinic": "A", "account": "d",
                                        "jku": ["http://e/jwks"]}}, "https://"),
    ("a misspelt key", {ISSUER: {"clinic": "A", "account": "d", "jku": ["https://e/j"],
                                 "audiance": "x"}}, "unknown key 'audiance'"),
]


@pytest.mark.parametrize(("case", "doc", "words"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_registry_is_refused_naming_the_field(case: str, doc: Any, words: str) -> None:
    with pytest.raises(DocumentError) as err:
        parse_clients(doc, "cds.yaml")
    assert words in str(err.value)


def test_a_registry_file_in_yaml_is_read_and_an_invalid_one_registers_nobody(
        tmp_path: Path, ehr: Ehr) -> None:
    good = tmp_path / "cds.yaml"
    good.write_text(f'"{ISSUER}":\n  clinic: Clinic A\n  account: doc\n'
                    f"  jwks: {json.dumps(ehr.jwks())}\n")
    assert set(registered_clients(good)) == {ISSUER}
    bad = tmp_path / "bad.json"
    bad.write_text('{"x": 1, "x": 2}')
    assert registered_clients(bad) == {}
    assert registered_clients(tmp_path / "missing.json") == {}


def test_a_good_token_gives_the_client_and_its_claims(ehr: Ehr) -> None:
    client, claims = verify(ehr.token(URL), "bontrack-order-sign", BASE,
                            parse_clients(entry(ehr), "f"))
    assert client.clinic == "Clinic A" and claims["sub"] == "ehr-client-1"


def test_behind_a_proxy_the_registered_audience_is_the_base(ehr: Ehr) -> None:
    clients = parse_clients(entry(ehr, audience="https://public.example/"), "f")
    token = ehr.token("https://public.example/cds-services/bontrack-order-sign")
    verify(token, "bontrack-order-sign", "http://10.0.0.5:8000", clients)
    with pytest.raises(NotAuthenticated):
        verify(ehr.token(URL), "bontrack-order-sign", BASE, clients)


def test_a_jku_the_issuer_did_not_register_is_never_fetched(ehr: Ehr) -> None:
    import jwt

    clients = parse_clients(entry(ehr, jwks=None, jku=["https://ehr.example.org/jwks"]), "f")
    token = jwt.encode({"iss": ISSUER, "sub": "s", "aud": URL, "iat": 1, "exp": 2, "jti": "j"},
                       ehr.ec, algorithm="ES384",
                       headers={"kid": "ec-1", "jku": "https://attacker.example/jwks"})
    with pytest.raises(NotAuthenticated, match="jku is not a JWKS URL registered"):
        verify(token, "bontrack-order-sign", BASE, clients)


def test_a_token_signed_with_the_public_key_as_an_hmac_secret_is_refused(ehr: Ehr) -> None:
    import jwt

    token = jwt.encode({"iss": ISSUER, "sub": "s", "aud": URL, "iat": 1, "exp": 9999999999,
                        "jti": "j"}, "a-secret-long-enough-for-hs384-" * 3, algorithm="HS384")
    with pytest.raises(NotAuthenticated, match="ES384 or RS384"):
        verify(token, "bontrack-order-sign", BASE, parse_clients(entry(ehr), "f"))


def test_an_unknown_kid_is_refused(ehr: Ehr) -> None:
    with pytest.raises(NotAuthenticated, match="no key 'other'"):
        verify(ehr.token(URL, kid="other"), "bontrack-order-sign", BASE,
               parse_clients(entry(ehr), "f"))
