"""One live session with an upstream MCP server, as :mod:`.pool` uses it.

Two implementations: :class:`~.streamable_http.HttpConnection` (a lean streamable-HTTP
client that relays raw JSON and keeps its HTTP connections alive) and
:class:`~.sdk_session.SdkConnection` (the ``mcp`` SDK's ``ClientSession`` over stdio, SSE or
an in-process server). A connection is opened once; when it breaks, the pool opens a new one.

Example of an implementation::

    class Loopback(Connection):
        async def open(self) -> None:
            self.capabilities = {"tools": {}}

        async def request(self, method, params, *, timeout, on_notification=None):
            return {"content": [{"type": "text", "text": params["name"]}]}

        async def aclose(self) -> None:
            pass
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from agentcontainers.mcp.base import Notify, UpstreamUnavailable

Lost = Callable[[], Awaitable[None]]
"""Called once when the connection is found dead outside any request."""

CLIENT_INFO = {"name": "agentcontainers-mcp-gateway", "version": "1"}
HANDSHAKE_VERSION = "2025-11-25"


class SessionExpired(UpstreamUnavailable):
    """The upstream no longer knows our session (it restarted): open a new one and retry."""


class NotSent(UpstreamUnavailable):
    """The request never reached the upstream (connection refused): retrying is safe."""


class Connection(ABC):
    """A session with one upstream; ``request`` may be called concurrently."""

    def __init__(self, *, on_notification: Notify, on_lost: Lost) -> None:
        self.on_notification = on_notification
        self.on_lost = on_lost
        self.capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        self.server_info: dict[str, Any] | None = None

    @abstractmethod
    async def open(self) -> None:
        """Connect and initialise (the caller bounds it with its connect timeout).

        Raises:
            UpstreamError: The upstream cannot be reached or refused the handshake.
        """

    @abstractmethod
    async def request(
        self,
        method: str,
        params: dict[str, Any],
        *,
        timeout: float,
        on_notification: Notify | None = None,
    ) -> dict[str, Any]:
        """Send one request and return its result.

        Args:
            method: JSON-RPC method.
            params: Its params.
            timeout: Seconds to wait for the answer.
            on_notification: Receives notifications tied to this request (progress, logs).

        Raises:
            SessionExpired: Re-initialise and retry.
            NotSent: The request was not delivered; retrying is safe.
            UpstreamError: Any other failure.
        """

    @abstractmethod
    async def aclose(self) -> None:
        """Close the session; never raises."""
