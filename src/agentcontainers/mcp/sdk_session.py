"""Upstreams reached through the ``mcp`` SDK's ``ClientSession``: stdio, SSE and in-process.

These carry no performance target, so they use the SDK as is. Each session lives in a task of
its own (anyio scopes must be exited by the task that entered them); requests from any task
use it, and its end (a stdio server that exits, an SSE stream that breaks) is reported to the
pool, which opens a new one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import mcp_types as types
from mcp import ClientSession
from mcp.client.session import MessageHandlerFnT
from mcp.shared.exceptions import MCPError
from pydantic import RootModel

from agentcontainers.mcp.base import Notify, UpstreamRejected, UpstreamTimeout, UpstreamUnavailable
from agentcontainers.mcp.config import UpstreamConfig
from agentcontainers.mcp.connection import CLIENT_INFO, Connection, Lost, NotSent

logger = logging.getLogger(__name__)


class _RawResult(RootModel[dict[str, Any]]):
    """Any result, kept as the dict it came in."""


_CLOSED_CODES = {types.CONNECTION_CLOSED}

SessionFactory = Callable[[MessageHandlerFnT], AbstractAsyncContextManager[ClientSession]]
"""Opens a ``ClientSession`` (not yet initialised) given its message handler."""


class _RelaySession(ClientSession):
    """A session that relays tool results without checking them against output schemas.

    The end client runs that check itself; enforcing it mid-path would turn an upstream's
    schema bug into a gateway error and hide the real response.
    """

    async def validate_tool_result(self, name: str, result: types.CallToolResult) -> None:
        return None


def stdio_sessions(config: UpstreamConfig) -> SessionFactory:
    """Sessions with a server the gateway starts as a subprocess (``command``)."""
    from mcp.client.stdio import StdioServerParameters, stdio_client

    assert config.command is not None
    parameters = StdioServerParameters(
        command=config.command,
        args=list(config.args),
        env=dict(config.env) if config.env else None,
        cwd=config.cwd,
    )

    @asynccontextmanager
    async def open_session(handler: MessageHandlerFnT) -> AsyncIterator[ClientSession]:
        async with (
            stdio_client(parameters) as (read, write),
            _RelaySession(read, write, message_handler=handler, client_info=_client_info()) as s,
        ):
            yield s

    return open_session


def sse_sessions(config: UpstreamConfig) -> SessionFactory:
    """Sessions with an older server that speaks the HTTP+SSE transport."""
    from mcp.client.sse import sse_client

    assert config.url is not None
    url, headers = config.url, dict(config.headers)

    @asynccontextmanager
    async def open_session(handler: MessageHandlerFnT) -> AsyncIterator[ClientSession]:
        async with (
            sse_client(url, headers=headers, timeout=config.connect_timeout) as (read, write),
            _RelaySession(read, write, message_handler=handler, client_info=_client_info()) as s,
        ):
            yield s

    return open_session


def memory_sessions(server: Any) -> SessionFactory:
    """Sessions with an MCP server in this process: an ``mcp`` ``MCPServer`` or low-level
    ``Server`` (the built-in ``assistant``) over the SDK's in-memory transport, or a
    ``fastmcp`` server over fastmcp's (whose client package is imported only then)."""
    from mcp.server import Server
    from mcp.server.mcpserver import MCPServer

    if not isinstance(server, MCPServer | Server):
        return _fastmcp_sessions(server)
    from mcp.client._memory import InMemoryTransport

    @asynccontextmanager
    async def open_session(handler: MessageHandlerFnT) -> AsyncIterator[ClientSession]:
        async with (
            InMemoryTransport(server) as (read, write),
            _RelaySession(read, write, message_handler=handler, client_info=_client_info()) as s,
        ):
            yield s

    return open_session


def _fastmcp_sessions(server: Any) -> SessionFactory:
    from fastmcp.client.transports import FastMCPTransport
    from fastmcp.client.transports.base import TransportOptions

    transport = FastMCPTransport(server)

    @asynccontextmanager
    async def open_session(handler: MessageHandlerFnT) -> AsyncIterator[ClientSession]:
        async with transport.connect_session(
            transport_options=TransportOptions(session_class=_RelaySession),
            message_handler=handler,
            client_info=_client_info(),
        ) as session:
            yield session

    return open_session


def _client_info() -> types.Implementation:
    return types.Implementation(name=CLIENT_INFO["name"], version=CLIENT_INFO["version"])


class SdkConnection(Connection):
    """A ``ClientSession`` kept open in its own task."""

    def __init__(
        self,
        name: str,
        sessions: SessionFactory,
        task_group: anyio.abc.TaskGroup,
        *,
        on_notification: Notify,
        on_lost: Lost,
    ) -> None:
        super().__init__(on_notification=on_notification, on_lost=on_lost)
        self.name = name
        self._sessions = sessions
        self._task_group = task_group
        self._session: ClientSession | None = None
        self._stop = anyio.Event()
        self._closed = False

    async def open(self) -> None:
        ready = anyio.Event()
        failure: list[BaseException] = []
        self._task_group.start_soon(self._own, ready, failure)
        await ready.wait()
        if failure:
            raise UpstreamUnavailable(
                f"MCP server '{self.name}' could not be started: {_explain(failure[0])}"
            ) from failure[0]

    async def _own(self, ready: anyio.Event, failure: list[BaseException]) -> None:
        try:
            async with self._sessions(self._handle) as session:
                result = await session.initialize()
                self.capabilities = result.capabilities.model_dump(
                    by_alias=True, mode="json", exclude_none=True
                )
                self.instructions = result.instructions
                self.server_info = result.server_info.model_dump(mode="json", exclude_none=True)
                self._session = session
                ready.set()
                await self._stop.wait()
        except Exception as exc:
            if not ready.is_set():
                failure.append(exc)
            else:
                logger.info("MCP server %r: session ended: %s", self.name, _explain(exc))
        finally:
            self._session = None
            ready.set()
            if not self._closed and not failure:
                self._closed = True
                with anyio.CancelScope(shield=True):
                    await self.on_lost()

    async def _handle(self, message: Any) -> None:
        if isinstance(message, Exception):
            logger.debug("MCP server %r: transport error: %s", self.name, message)
            return
        if isinstance(message, types.Notification):
            data = message.model_dump(by_alias=True, mode="json", exclude_none=True)
            await self.on_notification(str(data.get("method")), data.get("params") or {})

    async def request(
        self,
        method: str,
        params: dict[str, Any],
        *,
        timeout: float,
        on_notification: Notify | None = None,
    ) -> dict[str, Any]:
        session = self._session
        if session is None:
            raise NotSent(f"MCP server '{self.name}' is not connected")
        raw_request = types.Request[dict[str, Any], str](method=method, params=params)
        try:
            with anyio.fail_after(timeout):
                return (await session.send_request(raw_request, _RawResult)).root
        except TimeoutError:
            raise UpstreamTimeout(
                f"MCP server '{self.name}' did not answer {method} within {timeout:g} s"
            ) from None
        except MCPError as exc:
            if exc.error.code in _CLOSED_CODES:
                raise UpstreamUnavailable(
                    f"MCP server '{self.name}' closed the connection during {method}"
                ) from exc
            raise UpstreamRejected(exc.error.code, exc.error.message, exc.error.data) from exc
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            raise NotSent(f"MCP server '{self.name}' is not connected") from exc

    async def aclose(self) -> None:
        self._closed = True
        self._stop.set()


def _explain(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _explain(exc.exceptions[0])
    return str(exc) or type(exc).__name__
