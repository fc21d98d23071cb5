"""A synthetic EHR for the CDS Hooks tests: its own signing keys (generated here), the
registry file that registers it, and the spec's request shapes."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://ehr.example.org"


class Ehr:
    """An EHR holding an ES384 key (``kid`` "ec-1") and an RS384 key (``kid`` "rsa-1")."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.ec = ec.generate_private_key(ec.SECP384R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, alg, algo, key in (("ec-1", "ES384", ECAlgorithm, self.ec),
                                    ("rsa-1", "RS384", RSAAlgorithm, self.rsa)):
            jwk = json.loads(algo.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": keys}

    def register(self, path: Path, clinic: str = "Clinic A", account: str = "doc",
                 **extra: Any) -> Path:
        path.write_text(json.dumps({self.issuer: {"clinic": clinic, "account": account,
                                                  "jwks": self.jwks(), **extra}}))
        return path

    def token(self, aud: str, *, alg: str = "ES384", lifetime: int = 300,
              jti: str | None = None, key: Any = None, kid: str | None = None,
              drop: tuple[str, ...] = (), **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "sub": "ehr-client-1", "aud": aud, "iat": now,
                   "exp": now + lifetime, "jti": jti or str(uuid.uuid4())}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if k not in drop}
        signer = key or (self.ec if alg.startswith("ES") else self.rsa)
        kid = kid or ("ec-1" if alg.startswith("ES") else "rsa-1")
        return jwt.encode(payload, signer, algorithm=alg, headers={"kid": kid})


def hook_request(hook: str, drafts: dict[str, Any], *, patient_id: str = "ehr-1",
                 patient: dict[str, Any] | None = None,
                 selections: list[str] | None = None) -> dict[str, Any]:
    """The request body of an order-select / order-sign call (CDS Hooks 2.0)."""
    context: dict[str, Any] = {"userId": "Practitioner/dr-ehr", "patientId": patient_id,
                               "encounterId": "enc-1", "draftOrders": drafts}
    if hook == "order-select":
        context["selections"] = selections or [
            f"MedicationRequest/{e['resource']['id']}" for e in drafts["entry"][:1]]
    body: dict[str, Any] = {"hookInstance": str(uuid.uuid4()), "hook": hook,
                            "context": context}
    if patient is not None:
        body["prefetch"] = {"patient": patient}
    return body


def ehr_patient(mrn: str, birth: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "ehr-1", "birthDate": birth,
            "identifier": [{"type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": "urn:oid:2.16.840.1.113883.19.5", "value": mrn}]}
