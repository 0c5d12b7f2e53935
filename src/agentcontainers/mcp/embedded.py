"""Serving a :class:`~.gateway.Gateway` with uvicorn: as the ``mcp-proxy`` command, or from a
task of another process (:class:`EmbeddedGateway`, so a one-shot run needs no separate gateway).
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import anyio
import anyio.abc
import uvicorn

from agentcontainers.mcp.config import GatewayConfig
from agentcontainers.mcp.gateway import Gateway
from agentcontainers.settings import Settings
from agentcontainers.sockets import listen


def assistant_db_path(settings: Settings) -> Path:
    """The built-in assistant's SQLite file: ``AGENTCONTAINERS_ASSISTANT_DB`` or under STATE_DIR."""
    configured = settings.environ.get("AGENTCONTAINERS_ASSISTANT_DB", "").strip()
    return Path(configured) if configured else settings.state_dir / "assistant.db"


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handlers: the host process owns its signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    return listen(host, port)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _serve_until_started(
    server: uvicorn.Server, sock: socket.socket, task_group: anyio.abc.TaskGroup
) -> None:
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


def _uvicorn_config(gateway: Gateway) -> uvicorn.Config:
    return uvicorn.Config(
        gateway, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=5
    )


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
    server = _Server(_uvicorn_config(gateway))
    async with gateway, anyio.create_task_group() as task_group:
        await _serve_until_started(server, sock, task_group)
        on_ready(_url(sock))
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                server.should_exit = True
                break


class EmbeddedGateway:
    """A gateway on 127.0.0.1:<free port>, served by a task of this process.

    ``token`` defaults to a random one for this process; only holders of it (or of scoped
    tokens derived from it) can use the gateway.
    """

    def __init__(
        self, config: GatewayConfig, *, assistant_db: Path, token: str | None = None
    ) -> None:
        self.token = token or secrets.token_urlsafe(32)
        # Barely wait for upstreams: the agent's CLI takes longer to start than they do to
        # connect, and a request arriving meanwhile waits for its upstream anyway.
        self.gateway = Gateway(
            config, token=self.token, assistant_db=assistant_db, startup_wait=0.5
        )
        self.url = ""
        self._stop = anyio.Event()

    async def start(self, task_group: anyio.abc.TaskGroup) -> str:
        """Start serving in ``task_group``; returns the base URL once it accepts connections."""
        self.url = await task_group.start(self._run)
        return self.url

    def stop(self) -> None:
        """Ask the server to shut down (the task ends once it has)."""
        self._stop.set()

    async def _run(self, *, task_status: anyio.abc.TaskStatus[str]) -> None:
        sock = bind("127.0.0.1", 0)
        server = _Server(_uvicorn_config(self.gateway))
        async with self.gateway, anyio.create_task_group() as task_group:
            await _serve_until_started(server, sock, task_group)
            task_status.started(_url(sock))
            await self._stop.wait()
            server.should_exit = True
