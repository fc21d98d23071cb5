"""Signed checkpoints of the audit chain, kept outside the database.

The hash chain (``audit_chain``) shows an edit or a deletion in the middle of the trail, but
not one made by someone who also recomputes every later hash, nor the newest events simply
deleted: the chain stays consistent. A checkpoint pins the head of the chain (sequence, hash,
count, time) with an Ed25519 signature made with a key that is not in the database, and is
appended to a file that the database's users cannot reach. ``verify_anchored`` then checks
the database against every checkpoint: the event at each checkpoint's sequence must still be
there with the same hash, and as many events up to it. docs/security.md, "Anchored audit".
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from bontrack.errors import BontrackError
from bontrack.store.audit_chain import GENESIS, Verdict, verify
from bontrack.store.files import write_private

VERSION = 1


# -- the key ---------------------------------------------------------------------------------


def generate_key(path: Path) -> Ed25519PublicKey:
    """A new signing key at ``path`` (0600, PEM) and its public half at ``path.pub``."""
    path = Path(path)
    if path.exists():
        raise BontrackError(f"{path}: a key is already there; it is never overwritten")
    key = Ed25519PrivateKey.generate()
    write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = key.public_key()
    pub = path.with_name(path.name + ".pub")
    if not pub.exists():
        pub.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    return public


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except FileNotFoundError:
        raise BontrackError(f"{path}: no signing key (bontrack audit keygen)") from None
    except ValueError as exc:
        raise BontrackError(f"{path}: not an Ed25519 private key in PEM ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BontrackError(f"{path}: not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """The public key to check signatures with: from a public key file, or the public half
    of the private key file."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise BontrackError(f"{path}: no audit key to check the checkpoints with") from None
    if b"PUBLIC KEY" in data:
        key: Any = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise BontrackError(f"{path}: not an Ed25519 public key")
        return key
    return load_private(path).public_key()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# -- checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    sequence: int  # chain_seq of the newest chained event (0 for an empty trail)
    hash: str  # its hash (GENESIS for an empty trail)
    count: int  # events up to and including it
    at: str  # when the checkpoint was made (UTC, ISO 8601)
    key: str  # key_id of the signing key
    previous: str  # SHA-256 of the previous checkpoint's line ("" for the first)
    signature: str = ""

    def payload(self) -> bytes:
        body = {"v": VERSION, "sequence": self.sequence, "hash": self.hash,
                "count": self.count, "at": self.at, "key": self.key,
                "previous": self.previous}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        doc = json.loads(self.payload())
        doc["signature"] = self.signature
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def _line_digest(line: str) -> str:
    return hashlib.sha256(line.strip().encode()).hexdigest()


def read_checkpoints(path: Path) -> list[tuple[Checkpoint, str]]:
    """Every checkpoint of the file with its line, oldest first; [] when there is no file."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            cp = Checkpoint(sequence=int(doc["sequence"]), hash=str(doc["hash"]),
                            count=int(doc["count"]), at=str(doc["at"]), key=str(doc["key"]),
                            previous=str(doc["previous"]), signature=str(doc["signature"]))
        except (ValueError, KeyError, TypeError):
            raise BontrackError(f"{path}, line {n}: not a checkpoint") from None
        out.append((cp, line))
    return out


def _append(path: Path, line: str) -> None:
    """Append one line (O_APPEND, fsync); the file is created 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _walk(rows: Iterable[Any], watch: set[int]) -> tuple[Verdict, dict[int, tuple[str, int]],
                                                         tuple[int, str]]:
    """The chain check, noting (hash, count so far) at the chain places in ``watch`` and
    the head (rows in chain order, ``audit_chain.chained_events``)."""
    seen: dict[int, tuple[str, int]] = {}
    head: list[tuple[int, str]] = [(0, GENESIS)]
    n = [0]

    def noted() -> Iterable[Any]:
        for r in rows:
            n[0] += 1
            if r.chain_seq in watch:
                seen[r.chain_seq] = (r.hash, n[0])
            head[0] = (int(r.chain_seq), str(r.hash))
            yield r

    verdict = verify(noted())
    return verdict, seen, head[0]


def checkpoint(rows: Iterable[Any], checkpoints: Path, key_path: Path,
               now: datetime | None = None) -> Checkpoint:
    """Check the chain and append a signed checkpoint of its head to ``checkpoints``. The
    key is created (0600) on the first checkpoint if there is none. A broken chain is not
    signed."""
    key_path = Path(key_path)
    if not key_path.exists():
        generate_key(key_path)
    key = load_private(key_path)
    existing = read_checkpoints(checkpoints)
    verdict, _, (sequence, digest) = _walk(rows, set())
    if not verdict.intact:
        raise BontrackError(f"not signed: the audit trail is broken at event "
                            f"{verdict.broken_at}: {verdict.reason}")
    cp = Checkpoint(sequence=sequence, hash=digest, count=verdict.events,
                    at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
                    key=key_id(key.public_key()),
                    previous=_line_digest(existing[-1][1]) if existing else "")
    signed = Checkpoint(**{**cp.__dict__,
                           "signature": base64.b64encode(key.sign(cp.payload())).decode()})
    _append(Path(checkpoints), signed.line())
    return signed


@dataclass(frozen=True)
class AnchoredVerdict:
    chain: Verdict
    checkpoints: int
    newest: Checkpoint | None
    since: int  # events after the newest checkpoint (not anchored yet)
    problem: str  # "" when every checkpoint matches

    @property
    def intact(self) -> bool:
        return self.chain.intact and not self.problem


def verify_anchored(rows: Iterable[Any], checkpoints: Path, key_path: Path) -> AnchoredVerdict:
    """The chain check, then every checkpoint of the file against the database: signatures
    with the trusted key, the checkpoints' own order, and the event, hash and count at each
    checkpoint. Fails on a truncated trail (newest events deleted), a deletion, or a chain
    recomputed after a change."""
    listed = read_checkpoints(checkpoints)
    if not listed:
        raise BontrackError(f"{checkpoints}: no checkpoint yet (bontrack audit checkpoint)")
    public = load_public(key_path)
    problem = ""
    previous = ""
    for cp, line in listed:
        if cp.key != key_id(public):
            problem = (f"checkpoint of {cp.at} was signed with another key ({cp.key}, "
                       f"expected {key_id(public)})")
            break
        try:
            public.verify(base64.b64decode(cp.signature), cp.payload())
        except (InvalidSignature, ValueError):
            problem = f"checkpoint of {cp.at} has a bad signature (the file was edited)"
            break
        if cp.previous != previous:
            problem = f"checkpoint of {cp.at} does not follow the one before it in the file"
            break
        previous = _line_digest(line)
    chain, seen, _ = _walk(rows, {cp.sequence for cp, _ in listed})
    newest = listed[-1][0]
    if not problem and chain.intact:
        for cp, _ in reversed(listed):
            if cp.sequence == 0:
                continue
            if cp.sequence not in seen:
                problem = (f"event {cp.sequence}, the head at the checkpoint of {cp.at}, is "
                           "missing: events were deleted (the trail was truncated)")
            elif seen[cp.sequence][0] != cp.hash:
                problem = (f"event {cp.sequence} no longer has the hash signed at the "
                           f"checkpoint of {cp.at}: the chain was changed and recomputed")
            elif seen[cp.sequence][1] != cp.count:
                problem = (f"{seen[cp.sequence][1]} events up to event {cp.sequence}, "
                           f"{cp.count} at the checkpoint of {cp.at}: events were deleted")
            if problem:
                break
        if not problem and newest.count > chain.events:
            problem = (f"{chain.events} events, {newest.count} at the checkpoint of "
                       f"{newest.at}: the trail was truncated")
    since = chain.events - newest.count if chain.events >= newest.count else 0
    return AnchoredVerdict(chain=chain, checkpoints=len(listed), newest=newest, since=since,
                           problem=problem)
