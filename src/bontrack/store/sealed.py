"""Encrypted backup files: AES-256-GCM in 1 MiB chunks, with a key file or a passphrase
(scrypt). Streamed both ways, so a large backup never has to fit in memory.

Layout: ``MAGIC``, a 4-byte length and a JSON header (format version, how the key is made,
the scrypt salt and cost, the file's random nonce prefix), then chunks, each a 4-byte
length and its ciphertext with the GCM tag. Every chunk is authenticated together with the
header, its index and whether it is the last one, so a changed, reordered, dropped or
truncated chunk, a changed header and a wrong key or passphrase are all refused.
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
from collections.abc import Iterator
from io import BufferedReader
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bontrack.errors import BontrackError
from bontrack.store.files import private_file, write_private

MAGIC = b"BONTRACK-SEALED\n"
CHUNK = 1 << 20
#: scrypt cost for passphrases (RFC 7914; 2**17 takes about 0.3 s and 128 MiB).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
MIN_PASSPHRASE = 12


def new_key_file(path: Path) -> None:
    """Write a new random 256-bit key, base64 on one line, 0600."""
    write_private(path, base64.b64encode(secrets.token_bytes(32)) + b"\n")


def read_key_file(path: Path) -> bytes:
    try:
        raw = path.read_bytes().strip()
        key = base64.b64decode(raw, validate=True)
    except OSError as err:
        raise BontrackError(f"--key-file: {path}: {err.strerror}") from None
    except ValueError:
        raise BontrackError(f"--key-file: {path} is not a key made by "
                            "`bontrack backup-key`") from None
    if len(key) != 32:
        raise BontrackError(f"--key-file: {path} does not hold a 256-bit key")
    return key


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def is_sealed(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def seal(source: Path, target: Path, *, key: bytes | None = None,
         passphrase: str | None = None) -> None:
    """Encrypt ``source`` into a new private file ``target``."""
    header: dict[str, object] = {"format": 1, "cipher": "AES-256-GCM", "chunk": CHUNK,
                                 "nonce": base64.b64encode(secrets.token_bytes(4)).decode()}
    if passphrase is not None:
        if len(passphrase) < MIN_PASSPHRASE:
            raise BontrackError(f"passphrase: at least {MIN_PASSPHRASE} characters")
        salt = secrets.token_bytes(16)
        header.update(key="scrypt", salt=base64.b64encode(salt).decode(), n=SCRYPT_N,
                      r=SCRYPT_R, p=SCRYPT_P)
        key = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    elif key is not None:
        header["key"] = "file"
    else:
        raise BontrackError("encrypting needs a key file or a passphrase")
    head = json.dumps(header, sort_keys=True).encode()
    aead, prefix = AESGCM(key), base64.b64decode(str(header["nonce"]))
    try:
        with open(source, "rb") as src, private_file(target) as out:
            out.write(MAGIC + struct.pack(">I", len(head)) + head)
            for index, (chunk, last) in enumerate(_chunks(src)):
                sealed = aead.encrypt(_nonce(prefix, index), chunk, _aad(head, index, last))
                out.write(struct.pack(">I", len(sealed)) + sealed)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def unseal(source: Path, target: Path, *, key: bytes | None = None,
           passphrase: str | None = None) -> None:
    """Decrypt ``source`` into a new private file ``target``; a wrong key or passphrase, or
    any change to the file, is refused and nothing is left behind."""
    try:
        with open(source, "rb") as src, private_file(target) as out:
            head = _header(src)
            header = json.loads(head)
            if header.get("key") == "scrypt":
                if passphrase is None:
                    raise BontrackError(f"{source} is sealed with a passphrase: give "
                                        "--passphrase-file (or type it at a terminal)")
                key = _scrypt(passphrase, base64.b64decode(header["salt"]), int(header["n"]),
                              int(header["r"]), int(header["p"]))
            elif key is None:
                raise BontrackError(f"{source} is sealed with a key file: give --key-file")
            aead, prefix = AESGCM(key), base64.b64decode(header["nonce"])
            index, last = 0, False
            while not last:
                sealed = _record(src)
                if sealed is None:
                    raise BontrackError(f"{source}: the backup is cut short (truncated)")
                last = not src.peek(1)
                try:
                    out.write(aead.decrypt(_nonce(prefix, index), sealed,
                                           _aad(head, index, last)))
                except InvalidTag:
                    raise BontrackError(f"{source}: wrong key or passphrase, or the file "
                                        "was changed") from None
                index += 1
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _chunks(src: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """The file in chunks, each with whether it is the last (an empty file is one empty
    last chunk, so every sealed file has a final chunk)."""
    chunk = src.read(CHUNK)
    while True:
        following = src.read(CHUNK)
        yield chunk, not following
        if not following:
            return
        chunk = following


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">Q", index)


def _aad(head: bytes, index: int, last: bool) -> bytes:
    return head + struct.pack(">Q?", index, last)


def _header(src: BufferedReader) -> bytes:
    if src.read(len(MAGIC)) != MAGIC:
        raise BontrackError("not a sealed bontrack backup")
    size = src.read(4)
    if len(size) != 4 or struct.unpack(">I", size)[0] > 4096:
        raise BontrackError("the sealed backup's header is damaged")
    head = src.read(struct.unpack(">I", size)[0])
    try:
        json.loads(head)
    except ValueError:
        raise BontrackError("the sealed backup's header is damaged") from None
    return head


def _record(src: BufferedReader) -> bytes | None:
    size = src.read(4)
    if len(size) < 4:
        return None
    length = struct.unpack(">I", size)[0]
    if length > CHUNK + 16:
        raise BontrackError("the sealed backup is damaged (a chunk is too long)")
    data = src.read(length)
    return data if len(data) == length else None
