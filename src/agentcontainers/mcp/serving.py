"""Serving a :class:`~.gateway.Gateway` with uvicorn: the ``mcp-proxy`` command's server, and
the pieces :class:`~.embedded.EmbeddedGateway` uses once it has loaded this module.

Importing this module imports ``mcp`` (about a second); :mod:`.embedded` does it off
the event loop.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import anyio
import anyio.abc
import uvicorn

from agentcontainers.mcp.config import GatewayConfig
from agentcontainers.mcp.embedded import bind, url_of
from agentcontainers.mcp.gateway import Gateway

__all__ = ["Gateway", "serve_gateway", "serve_until_started", "server_for"]


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handlers: the host process owns its signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_for(gateway: Gateway) -> uvicorn.Server:
    """A uvicorn server for ``gateway`` that leaves signals to the host process."""
    config = uvicorn.Config(
        gateway, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=5
    )
    return _Server(config)


async def serve_until_started(
    server: uvicorn.Server, sock: socket.socket, task_group: anyio.abc.TaskGroup
) -> None:
    """Start ``server`` on ``sock`` in ``task_group``; return once it accepts connections."""
    finished = anyio.Event()

    async def serve() -> None:
        try:
            await server.serve([sock])
        finally:
            finished.set()

    task_group.start_soon(serve)
    while not server.started:
        if finished.is_set():
            raise RuntimeError("the MCP gateway's HTTP server did not start")
        await anyio.sleep(0.005)


async def serve_gateway(
    config: GatewayConfig,
    *,
    host: str,
    port: int,
    token: str | None,
    allowed_hosts: Sequence[str] = (),
    assistant_db: Path | None = None,
    json_response: bool = True,
    on_ready: Callable[[str], None] = lambda url: None,
) -> None:
    """Serve the gateway until SIGINT or SIGTERM, then shut down cleanly."""
    gateway = Gateway(
        config,
        token=token,
        allowed_hosts=allowed_hosts,
        assistant_db=assistant_db,
        json_response=json_response,
    )
    sock = bind(host, port)
    server = server_for(gateway)
    async with gateway, anyio.create_task_group() as task_group:
        await serve_until_started(server, sock, task_group)
        on_ready(url_of(sock))
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                server.should_exit = True
                break
