"""One long-lived, self-healing session per upstream: the gateway's :class:`PooledUpstream`.

Every call reuses the upstream's open session (opening one per call is what makes a naive
proxy slow). When the session breaks the pool opens a new one: at once when the upstream
forgot it (a restart: the request is retried once, it never ran), then with a capped backoff
while the upstream stays down. Meanwhile calls fail fast with a clear message instead of
hanging, and other upstreams are untouched. Every call is bounded by the upstream's timeout.

Component lists are cached for ``list_ttl`` seconds and dropped when the upstream says they
changed; listeners hear about the change (and about a reconnect, after which anything may
have changed), so the front can tell its clients.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.abc

from agentcontainers.mcp.base import (
    CHANGED_NOTIFICATIONS,
    KINDS,
    LIST_METHODS,
    Backend,
    Kind,
    Notify,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from agentcontainers.mcp.config import UpstreamConfig
from agentcontainers.mcp.connection import Connection, Lost, NotSent, SessionExpired

logger = logging.getLogger(__name__)

METHOD_NOT_FOUND = -32601
_MAX_PAGES = 100
_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 5.0

ConnectionFactory = Callable[[anyio.abc.TaskGroup, Notify, Lost], Connection]


def connection_factory(config: UpstreamConfig, *, memory_server: Any = None) -> ConnectionFactory:
    """How to open a session with ``config``'s upstream (by its transport)."""
    if config.transport == "http":
        from agentcontainers.mcp.streamable_http import HttpConnection

        def http(task_group: anyio.abc.TaskGroup, notify: Notify, lost: Lost) -> Connection:
            return HttpConnection(config, task_group, on_notification=notify, on_lost=lost)

        return http

    from agentcontainers.mcp.sdk_session import (
        SdkConnection,
        memory_sessions,
        sse_sessions,
        stdio_sessions,
    )

    if config.transport == "sse":
        sessions = sse_sessions(config)
    elif config.transport == "stdio":
        sessions = stdio_sessions(config)
    else:
        if memory_server is None:
            raise ValueError(f"MCP server '{config.name}' is in-process but no server was given")
        sessions = memory_sessions(memory_server)

    def sdk(task_group: anyio.abc.TaskGroup, notify: Notify, lost: Lost) -> Connection:
        return SdkConnection(
            config.name, sessions, task_group, on_notification=notify, on_lost=lost
        )

    return sdk


class PooledUpstream(Backend):
    """An upstream MCP server behind one reusable, reconnecting session.

    Use as an async context manager; it starts connecting on entry (a failure there is not
    fatal: the upstream may come up later).
    """

    def __init__(
        self,
        config: UpstreamConfig,
        connect: ConnectionFactory | None = None,
        *,
        list_ttl: float = 2.0,
    ) -> None:
        super().__init__()
        self.config = config
        self.name = config.name
        self._connect = connect or connection_factory(config)
        self._list_ttl = list_ttl
        self._connection: Connection | None = None
        self._lock = anyio.Lock()
        self._task_group: anyio.abc.TaskGroup | None = None
        self._lists: dict[Kind, tuple[float, list[dict[str, Any]]]] = {}
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""
        self._connected_once = False
        self._reconnecting = False
        self._instructions: str | None = None
        self._closed = False
        self.first_attempt = anyio.Event()
        """Set once the first connection attempt has succeeded or failed."""

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._reconnect)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        assert self._task_group is not None
        if self._connection is not None:
            await self._connection.aclose()
            self._connection = None
        self._task_group.cancel_scope.cancel()
        await self._task_group.__aexit__(None, None, None)

    @property
    def instructions(self) -> str | None:
        return self._instructions

    @property
    def connected(self) -> bool:
        """Whether a session is open right now."""
        return self._connection is not None

    # ------------------------------------------------------------------ Backend

    async def list(self, kind: Kind) -> list[dict[str, Any]]:
        cached = self._lists.get(kind)
        if cached is not None and time.monotonic() - cached[0] < self._list_ttl:
            return cached[1]
        connection = await self._open()
        capability = "resources" if kind == "resourceTemplates" else kind
        if capability not in connection.capabilities:
            return []
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {"cursor": cursor} if cursor else {}
            try:
                page = await self._call(LIST_METHODS[kind], params)
            except UpstreamRejected as exc:
                if exc.code == METHOD_NOT_FOUND:
                    return []
                raise
            items.extend(page.get(kind) or [])
            cursor = page.get("nextCursor")
            if not cursor:
                break
        self._lists[kind] = (time.monotonic(), items)
        return items

    async def request(
        self, method: str, params: dict[str, Any], *, notify: Notify | None = None
    ) -> dict[str, Any]:
        return await self._call(method, params, notify)

    # ------------------------------------------------------------------ internals

    async def _call(
        self, method: str, params: dict[str, Any], notify: Notify | None = None
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            connection = await self._open()
            try:
                return await connection.request(
                    method, params, timeout=self.config.timeout, on_notification=notify
                )
            except (SessionExpired, NotSent) as exc:
                # The request never ran: open a fresh session and send it once more.
                await self._drop(connection, str(exc), penalise=attempt == 2)
                if attempt == 2:
                    raise UpstreamUnavailable(str(exc)) from exc
            except (UpstreamRejected, UpstreamTimeout):
                raise
            except UpstreamUnavailable as exc:
                await self._drop(connection, str(exc), penalise=True)
                raise
        raise AssertionError("unreachable")

    async def _open(self) -> Connection:
        connection = self._connection
        if connection is not None:
            return connection
        async with self._lock:
            if self._connection is not None:
                return self._connection
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                raise UpstreamUnavailable(
                    f"MCP server '{self.name}' is unavailable ({self._last_error}); "
                    f"retrying in {wait:.1f} s"
                )
            return await self._open_locked()

    async def _open_locked(self) -> Connection:
        assert self._task_group is not None, "use PooledUpstream as an async context manager"
        connection = self._connect(self._task_group, self._notification, self._lost)
        try:
            with anyio.fail_after(self.config.connect_timeout):
                await connection.open()
        except (UpstreamError, TimeoutError, OSError) as exc:
            self.first_attempt.set()
            await connection.aclose()
            reason = str(exc) if isinstance(exc, UpstreamError) else "connect timed out"
            self._penalise(reason)
            raise UpstreamUnavailable(
                f"MCP server '{self.name}' is unavailable ({self._last_error}); "
                f"retrying in {self._retry_at - time.monotonic():.1f} s"
            ) from exc
        self._connection = connection
        self.first_attempt.set()
        self._failures = 0
        self._retry_at = 0.0
        self._instructions = connection.instructions
        reconnected = self._connected_once
        self._connected_once = True
        logger.info("MCP server %r: %s", self.name, "reconnected" if reconnected else "connected")
        if reconnected:
            self._lists.clear()
            assert self._task_group is not None
            for kind in ("tools", "resources", "prompts"):
                self._task_group.start_soon(self.changed, kind)
        return connection

    def _penalise(self, reason: str) -> None:
        self._failures += 1
        self._last_error = reason.removeprefix(f"MCP server '{self.name}' ").strip()
        delay = min(_BACKOFF_FIRST * 2 ** (self._failures - 1), _BACKOFF_MAX)
        self._retry_at = time.monotonic() + delay

    async def _drop(self, connection: Connection, reason: str, *, penalise: bool) -> None:
        if self._connection is connection:
            self._connection = None
            self._lists.clear()
            logger.warning("MCP server %r: session lost (%s)", self.name, reason)
            if penalise:
                self._penalise(reason)
            assert self._task_group is not None
            self._task_group.start_soon(connection.aclose)
            self._task_group.start_soon(self._reconnect)

    async def _lost(self) -> None:
        connection = self._connection
        if connection is not None:
            await self._drop(connection, "the upstream went away", penalise=False)

    async def _reconnect(self) -> None:
        """Keep trying in the background until a session is open, so recovery needs no call."""
        if self._reconnecting:
            return
        self._reconnecting = True
        try:
            while not self._closed and self._connection is None:
                await anyio.sleep(max(0.0, self._retry_at - time.monotonic()))
                try:
                    await self._open()
                except UpstreamError:
                    continue
        finally:
            self._reconnecting = False

    async def _notification(self, method: str, params: dict[str, Any]) -> None:
        kind = CHANGED_NOTIFICATIONS.get(method)
        if kind is None:
            return
        self._lists.pop(kind, None)
        if kind == "resources":
            self._lists.pop("resourceTemplates", None)
        await self.changed(kind)


__all__ = ["KINDS", "ConnectionFactory", "PooledUpstream", "connection_factory"]
