"""``agentcontainers serve [--host H] [--port P]``: the HTTP API (and web UI) with uvicorn.

Binds 127.0.0.1 by default. A bind that other machines can reach needs API keys
(``AGENTCONTAINERS_API_KEYS``), or ``--allow-unauthenticated`` to say that is intended. The
socket is listening before ``agentcontainers listening on http://HOST:PORT`` is printed on
stdout (``--port 0`` picks a free port), so a parent process can connect as soon as it reads it.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

HELP = "Serve the HTTP API (and web UI)."
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
LISTENING = "agentcontainers listening on "


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for a free one ({DEFAULT_PORT})"
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve a non-loopback address without AGENTCONTAINERS_API_KEYS (anyone who can "
        "reach it runs agents as 'local')",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level (default info: one line per request, never a key)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=int,
        default=10,
        help="seconds open requests and streams get to finish on shutdown (default 10)",
    )


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses
    )


def main(args: argparse.Namespace) -> int:
    """Check the bind, then serve until interrupted."""
    from agentcontainers.errors import ConfigError
    from agentcontainers.http.auth import KeyRing
    from agentcontainers.settings import Settings

    settings = Settings.from_env()
    try:
        keys = KeyRing(settings.api_keys.get_secret_value() if settings.api_keys else None)
    except ConfigError as exc:
        print(f"agentcontainers serve: {exc.message}", file=sys.stderr)
        return 2
    if not keys.enabled and not args.allow_unauthenticated and not is_loopback(args.host):
        print(
            f"agentcontainers serve: refusing to serve {args.host} without API keys: anyone who "
            "can reach it could run agents. Set AGENTCONTAINERS_API_KEYS, bind 127.0.0.1, or "
            "pass --allow-unauthenticated if that is really intended.",
            file=sys.stderr,
        )
        return 2
    return serve(settings, args.host, args.port, args.log_level, args.shutdown_timeout)


def serve(
    settings: object, host: str, port: int, log_level: str = "info", shutdown_timeout: int = 10
) -> int:
    """Bind ``host:port``, print the URL, and run the app until SIGINT/SIGTERM."""
    import uvicorn

    from agentcontainers.http.app import create_app
    from agentcontainers.settings import Settings

    assert isinstance(settings, Settings)
    from agentcontainers.sockets import listen

    sock = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"{LISTENING}http://{shown}:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        create_app(settings),
        log_level=log_level,
        timeout_graceful_shutdown=shutdown_timeout,
        server_header=False,
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
