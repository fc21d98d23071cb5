"""Is a port free? Asked before a command does slow work that ends in serving (the demo
seeds a database first): a busy port must stop it before anything is written."""

from __future__ import annotations

import socket

from bontrack.errors import BontrackError


def require_free_port(host: str, port: int) -> None:
    """Refuse, in one line, an address this process could not listen on. The test binds
    the way uvicorn does (SO_REUSEADDR), so a port in TIME_WAIT counts as free, as it will
    be for the server."""
    if not 0 < port < 65536:
        raise BontrackError(f"--port: must be 1-65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BontrackError(f"--host: cannot listen on {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            why = ("another program is listening on it" if exc.errno in (98, 48)
                   else exc.strerror)
            raise BontrackError(
                f"--port: cannot listen on {host}:{port} ({why}); stop that program or "
                "choose another port with --port") from None
