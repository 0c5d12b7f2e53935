"""Listening sockets for the servers this package runs (HTTP API, dev model, MCP gateway)."""

from __future__ import annotations

import socket


def listen(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one), bound before any server
    starts so the address is known (and printed) at once.

    The protocol is given as TCP explicitly: asyncio sets ``TCP_NODELAY`` only on accepted
    sockets whose protocol says TCP, and without it Nagle's algorithm delays small responses
    by about 40 ms.
    """
    family, kind, _, _, address = socket.getaddrinfo(
        "127.0.0.1" if host == "localhost" else host.strip("[]"),
        port,
        type=socket.SOCK_STREAM,
        flags=socket.AI_PASSIVE,
    )[0]
    sock = socket.socket(family, kind, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock
