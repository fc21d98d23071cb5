"""Files that hold patients' data or keys: created readable by their owner only (0600) from
the first byte, and never over an existing file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO


def private_file(path: Path) -> BinaryIO:
    """A new file only its owner can read or write (never an existing one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to the new private file ``path`` (its folder made 0700 if missing),
    flushed to disk: keys and secrets."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with private_file(path) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
