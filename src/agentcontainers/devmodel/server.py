"""Serve the dev model on a real socket with uvicorn.

The socket is bound and listening before the one stdout line
``dev-model listening on http://HOST:PORT`` is printed, so a parent process can connect as soon
as it reads that line (``--port 0`` picks a free port).
"""

from __future__ import annotations

import argparse
import socket
import sys

from agentcontainers.sockets import listen

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "STAND_IN_NOTICE", "add_arguments", "bind", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
STAND_IN_NOTICE = (
    "dev-model: this is a local, scripted stand-in for the Anthropic Messages API, not Claude: "
    "its answers are deterministic and no AI model is involved (see docs/dev-model.md)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--host``, ``--port`` and ``--log-level`` to a parser.

    Args:
        parser: The parser (or subparser) of the ``dev-model`` command.
    """
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for a free one ({DEFAULT_PORT})"
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default warning; info logs each request)",
    )


def bind(host: str, port: int) -> socket.socket:
    """Open a listening TCP socket on ``host:port`` (port 0: a free one)."""
    return listen(host, port, backlog=1024)


def url_of(host: str, sock: socket.socket) -> str:
    """The base URL of a bound socket, with the host as given (IPv6 in brackets)."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "warning") -> int:
    """Run the dev model until SIGINT/SIGTERM.

    Args:
        host: Address to bind.
        port: Port to bind, 0 for a free one.
        log_level: Uvicorn's log level; ``info`` and ``debug`` also log each request.

    Returns:
        The process exit status: 0 after a clean stop, 1 when the address cannot be bound.
    """
    import uvicorn

    from agentcontainers.devmodel.app import create_app

    try:
        sock = bind(host, port)
    except OSError as exc:
        print(f"dev-model: cannot listen on {host}:{port}: {exc}", file=sys.stderr, flush=True)
        return 1
    print(STAND_IN_NOTICE, file=sys.stderr, flush=True)
    print(f"dev-model listening on {url_of(host, sock)}", flush=True)
    config = uvicorn.Config(
        create_app(),
        log_level=log_level,
        access_log=log_level in ("info", "debug"),
        lifespan="off",
        timeout_graceful_shutdown=2,
        server_header=False,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0


def run(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and serve: the body of ``python -m agentcontainers.devmodel``."""
    parser = argparse.ArgumentParser(
        prog="python -m agentcontainers.devmodel",
        description="Local stand-in for the Anthropic Messages API (not Claude).",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return serve(args.host, args.port, args.log_level)
