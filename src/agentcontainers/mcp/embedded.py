"""A gateway served by a task of this process, so a one-shot run needs no separate gateway.

This module is light on purpose: :meth:`EmbeddedGateway.start` binds the socket and returns the
URL at once, and the gateway (``mcp`` takes about a second to import) loads in a worker
thread while the caller goes on, e.g. starting the agent's CLI, which boots meanwhile. A client
connecting before the gateway serves waits in the socket's listen backlog.
"""

from __future__ import annotations

import importlib
import logging
import secrets
import socket
from pathlib import Path

import anyio
import anyio.abc
import anyio.to_thread

from agentcontainers.mcp.config import GatewayConfig
from agentcontainers.settings import Settings
from agentcontainers.sockets import listen

logger = logging.getLogger(__name__)


def assistant_db_path(settings: Settings) -> Path:
    """The built-in assistant's SQLite file: ``AGENTCONTAINERS_ASSISTANT_DB`` or under STATE_DIR."""
    configured = settings.environ.get("AGENTCONTAINERS_ASSISTANT_DB", "").strip()
    return Path(configured) if configured else settings.state_dir / "assistant.db"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    return listen(host, port)


def url_of(sock: socket.socket) -> str:
    """The base URL of a listening socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class EmbeddedGateway:
    """A gateway on 127.0.0.1:<free port>, served by a task of this process.

    ``token`` defaults to a random one for this process; only holders of it (or of scoped
    tokens derived from it) can use the gateway.
    """

    def __init__(
        self, config: GatewayConfig, *, assistant_db: Path, token: str | None = None
    ) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.config = config
        self.assistant_db = assistant_db
        self.url = ""
        self._stop = anyio.Event()
        self._ready = anyio.Event()
        self._error: Exception | None = None

    def start(self, task_group: anyio.abc.TaskGroup) -> str:
        """Bind, start loading and serving in ``task_group``, and return the base URL now.

        :meth:`ready` waits until the gateway serves (or failed to).
        """
        sock = bind("127.0.0.1", 0)
        self.url = url_of(sock)
        task_group.start_soon(self._run, sock)
        return self.url

    async def ready(self) -> None:
        """Wait until the gateway serves.

        Raises:
            RuntimeError: It could not start (the cause is chained).
        """
        await self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"the MCP gateway did not start: {self._error}") from self._error

    def stop(self) -> None:
        """Ask the server to shut down (the task ends once it has)."""
        self._stop.set()

    async def _run(self, sock: socket.socket) -> None:
        try:
            serving = await anyio.to_thread.run_sync(
                importlib.import_module, "agentcontainers.mcp.serving"
            )
            if self._stop.is_set():
                return
            # Barely wait for upstreams: a request arriving before one connects waits for it.
            gateway = serving.Gateway(
                self.config, token=self.token, assistant_db=self.assistant_db, startup_wait=0.5
            )
            server = serving.server_for(gateway)
            async with gateway, anyio.create_task_group() as task_group:
                await serving.serve_until_started(server, sock, task_group)
                self._ready.set()
                await self._stop.wait()
                server.should_exit = True
        except Exception as exc:
            if self._ready.is_set():
                raise
            logger.error("the embedded MCP gateway did not start: %r", exc)
            self._error = exc
        finally:
            self._ready.set()
            sock.close()
