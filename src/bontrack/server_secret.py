"""The server's secret key (signs CSRF tokens): BONTRACK_SECRET_KEY, else a random key kept
in ``secret.key`` in the user's configuration directory, created 0600 on first use so that
every worker process of one installation shares it. Rotating it (deleting the file, or a
new BONTRACK_SECRET_KEY) only makes open forms ask for a reload."""

from __future__ import annotations

import base64
import os
import secrets
from functools import cache
from pathlib import Path

from platformdirs import user_config_dir

from bontrack.store.files import write_private

ENV_SECRET = "BONTRACK_SECRET_KEY"


def secret_path() -> Path:
    return Path(user_config_dir("bontrack", appauthor=False)) / "secret.key"


@cache
def secret_key() -> bytes:
    raw = os.environ.get(ENV_SECRET, "").strip()
    if raw:
        if len(raw) < 32:
            raise ValueError(f"{ENV_SECRET}: at least 32 characters")
        return raw.encode()
    path = secret_path()
    key = secrets.token_bytes(32)
    try:
        write_private(path, base64.b64encode(key) + b"\n")
    except FileExistsError:  # another process (or an earlier run) made it: use that one
        return base64.b64decode(path.read_bytes().strip())
    return key
