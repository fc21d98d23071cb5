"""The EHRs that may call the CDS Hooks services, and the check of their JWTs.

CDS Hooks 2.0 (Trusting CDS Clients): the EHR sends ``Authorization: Bearer <JWT>`` signed
with ES384 or RS384, carrying ``iss`` (the EHR), ``sub`` (its client id), ``aud`` (the URL
of the service called), ``exp``, ``iat`` and ``jti``. The service checks the signature with
the issuer's public keys from its JWKS. BONTRACK_CDS_CLIENTS names a JSON or YAML file
mapping each issuer to its keys (``jwks`` inline, or ``jku``: the JWKS URLs bontrack may
fetch, never one a token names that is not listed) and to the bontrack ``clinic`` and
``account`` its calls act as. Every refusal is ``NotAuthenticated`` (401); a ``jti`` is
accepted once (kept in ``cds_token_ids`` until the token expires, for every worker).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bontrack.config import ENV_CDS_CLIENTS, cds_clients_path
from bontrack.documents import loads_json, loads_yaml
from bontrack.errors import DocumentError, NotAuthenticated
from bontrack.store.models import CdsTokenId

LOG = logging.getLogger("bontrack.cds")
ALGORITHMS = ("ES384", "RS384")
REQUIRED = ["iss", "sub", "aud", "exp", "iat", "jti"]
#: The longest a token may live (exp - iat): the spec asks for at most 5 minutes; an hour
#: tolerates a slow clock while keeping the table of used ids small.
MAX_LIFETIME_S = 3600
LEEWAY_S = 30
_KEYS = ("clinic", "account", "jwks", "jku", "mrn_system", "audience")


@dataclass(frozen=True)
class CdsClient:
    """One registered EHR (an issuer of JWTs)."""

    issuer: str
    clinic: str
    account: str
    jwks: dict[str, Any] | None = None
    jku: tuple[str, ...] = ()
    #: The Patient.identifier system whose value is bontrack's MRN (else MR-typed ones).
    mrn_system: str | None = None
    #: The base URL the EHR calls bontrack at, when it differs from what the server sees
    #: (behind a proxy): the token's ``aud`` is ``<audience>/cds-services/<id>``.
    audience: str | None = None


def parse_clients(doc: Any, where: str) -> dict[str, CdsClient]:
    """The registry from a decoded file: ``{issuer: {clinic, account, jwks | jku, ...}}``
    (optionally under a top-level ``clients`` key). Raises DocumentError naming the field."""
    if isinstance(doc, dict) and set(doc) == {"clients"}:
        doc = doc["clients"]
    if not isinstance(doc, dict) or not doc:
        raise DocumentError(f"{where}: expected a mapping of issuer -> client")
    out: dict[str, CdsClient] = {}
    for iss, entry in doc.items():
        at = f"{where}: {iss}"
        if not isinstance(entry, dict):
            raise DocumentError(f"{at}: expected a mapping")
        unknown = sorted(set(entry) - set(_KEYS))
        if unknown:
            raise DocumentError(f"{at}: unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
        for key in ("clinic", "account"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise DocumentError(f"{at}.{key}: required (a name)")
        jwks = entry.get("jwks")
        jku = entry.get("jku") or []
        jku = [jku] if isinstance(jku, str) else jku
        if jwks is None and not jku:
            raise DocumentError(f"{at}: give the issuer's keys: jwks (inline) or jku (URLs)")
        if jwks is not None:
            try:
                jwt.PyJWKSet.from_dict(jwks)
            except (jwt.PyJWTError, TypeError, ValueError, KeyError, AttributeError) as exc:
                raise DocumentError(f"{at}.jwks: not a usable JWKS ({exc})") from None
        if not all(isinstance(u, str) and u.startswith("https://") for u in jku):
            raise DocumentError(f"{at}.jku: each must be an https:// URL")
        out[str(iss)] = CdsClient(str(iss), entry["clinic"].strip(), entry["account"].strip(),
                                  jwks, tuple(jku), entry.get("mrn_system"),
                                  entry.get("audience"))
    return out


_CACHE: dict[tuple[str, int], dict[str, CdsClient]] = {}
_LOCK = threading.Lock()


def registered_clients(path: Path | None = None) -> dict[str, CdsClient]:
    """The registry named by BONTRACK_CDS_CLIENTS, read again when the file changes. A
    missing or invalid file registers nobody (logged; every call answers 401)."""
    path = path or cds_clients_path()
    if path is None:
        return {}
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        LOG.error("%s=%s cannot be read: %s", ENV_CDS_CLIENTS, path, exc)
        return {}
    with _LOCK:
        if key not in _CACHE:
            text = path.read_text(encoding="utf-8")
            try:
                doc = loads_json(text) if path.suffix == ".json" else loads_yaml(text)
                _CACHE.clear()
                _CACHE[key] = parse_clients(doc, str(path))
            except DocumentError as exc:
                LOG.error("%s: %s", ENV_CDS_CLIENTS, exc)
                return {}
        return _CACHE[key]


_JWK_CLIENTS: dict[str, jwt.PyJWKClient] = {}


def _key(client: CdsClient, header: dict[str, Any]) -> Any:
    """The issuer's public key for this token: from its inline JWKS, or fetched from a
    registered JWKS URL (a ``jku`` the token names must be one of them)."""
    kid = header.get("kid")
    if client.jwks is not None and not header.get("jku"):
        keys = [k for k in jwt.PyJWKSet.from_dict(client.jwks).keys
                if kid is None or k.key_id == kid]
        if len(keys) != 1:
            raise NotAuthenticated(f"no key {kid!r} in the issuer's registered JWKS"
                                   if kid else "the token names no key (kid)")
        return keys[0]
    url = header.get("jku") or (client.jku[0] if client.jku else None)
    if url not in client.jku:
        raise NotAuthenticated("the token's jku is not a JWKS URL registered for its issuer")
    fetcher = _JWK_CLIENTS.setdefault(url, jwt.PyJWKClient(url, cache_keys=True, timeout=5))
    if kid is None:
        keys = fetcher.get_signing_keys()
        if len(keys) != 1:
            raise NotAuthenticated("the token names no key (kid)")
        return keys[0]
    return fetcher.get_signing_key(kid)


def verify(token: str, service_id: str, base_url: str, clients: dict[str, CdsClient]
           ) -> tuple[CdsClient, dict[str, Any]]:
    """The registered client and the claims of a valid token, else NotAuthenticated. The
    audience is the service's URL: ``<base>/cds-services/<id>``, the base being the client's
    registered ``audience`` or else the URL the server was called at."""
    try:
        header = jwt.get_unverified_header(token)
        claimed = jwt.decode(token, options={"verify_signature": False})
        iss = claimed.get("iss")
        client = clients.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise NotAuthenticated("the token's issuer (iss) is not a registered EHR")
        if header.get("alg") not in ALGORITHMS:
            raise NotAuthenticated(f"the token is signed with {header.get('alg')!r}; "
                                   f"use {' or '.join(ALGORITHMS)}")
        url = f"{(client.audience or base_url).rstrip('/')}/cds-services/{service_id}"
        wanted = [url, url + "/"]
        claims = jwt.decode(token, _key(client, header), algorithms=list(ALGORITHMS),
                            audience=wanted, issuer=iss, leeway=LEEWAY_S,
                            options={"require": REQUIRED})
    except NotAuthenticated:
        raise
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"the CDS Hooks JWT was refused: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise NotAuthenticated(f"the CDS Hooks JWT could not be read: {exc}") from None
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float) \
            or exp - iat > MAX_LIFETIME_S:
        raise NotAuthenticated(f"the token lives longer than {MAX_LIFETIME_S} s (exp - iat)")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 200 or not jti.isprintable():
        raise NotAuthenticated("the token's jti must be 1 to 200 printable characters")
    return client, claims


def use_token_id(session: Session, issuer: str, jti: str, exp: float) -> None:
    """Accept a token id once: a second use (a replay) is refused. Expired ids are purged."""
    now = datetime.now(UTC)
    session.execute(delete(CdsTokenId).where(CdsTokenId.expires_at < now))
    if session.scalar(select(CdsTokenId.jti).where(CdsTokenId.issuer == issuer[:300],
                                                   CdsTokenId.jti == jti)) is not None:
        raise NotAuthenticated("this token was already used (jti replayed)")
    try:
        with session.begin_nested():
            session.add(CdsTokenId(issuer=issuer[:300], jti=jti,
                                   expires_at=datetime.fromtimestamp(exp, UTC)))
    except IntegrityError:
        raise NotAuthenticated("this token was already used (jti replayed)") from None
