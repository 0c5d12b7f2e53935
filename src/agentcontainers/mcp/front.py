"""The gateway's face: an MCP server (``mcp`` low-level ``Server``) that serves a backend.

Each route (``/mcp/<name>``, ``/mcp``) gets one :class:`FrontServer`. Its handlers ask
``resolve(ctx)`` for the backend this caller may see (filtered by their grant, audited) and
relay the request's raw params to it; results go back as the upstream wrote them. Failures
become what MCP clients expect: a tool result with ``isError`` when an upstream is down or
slow (the model can read it and carry on), a JSON-RPC error otherwise.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import mcp_types as types
from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError
from mcp_types.methods import CACHEABLE_METHODS, CacheableMethod
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from agentcontainers.mcp.base import (
    Backend,
    Kind,
    UnknownComponent,
    UpstreamError,
    UpstreamRejected,
)

logger = logging.getLogger(__name__)

Resolve = Callable[[ServerRequestContext[Any, Any]], Backend]
"""Picks the backend a request may use (per caller: their grant decides what it shows)."""

_LISTS: dict[str, Kind] = {
    "tools/list": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts",
}
_REQUESTS = ("tools/call", "resources/read", "prompts/get", "completion/complete")
_MAX_SESSIONS = 10_000


class FrontServer(Server[Any]):
    """An MCP server relaying to the backend ``resolve`` picks for each request."""

    def __init__(
        self,
        name: str,
        resolve: Resolve,
        *,
        instructions: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._instructions = instructions
        super().__init__(
            name,
            version="1",
            cache_hints={
                cast("CacheableMethod", method): CacheHint(ttl_ms=0, scope="private")
                for method in CACHEABLE_METHODS
            },
            # Params are relayed raw, so the 2026-07-28 ``Mcp-Param`` header check (which would
            # list the tools on every call) has nothing to validate against.
            get_tool_input_schema=lambda _name: None,
        )
        self.middleware = []  # no per-message tracing span on the relay path
        self._resolve = resolve
        self.sessions: OrderedDict[str, ServerSession] = OrderedDict()
        for method, kind in _LISTS.items():
            self.add_request_handler(method, types.RequestParams, self._lister(kind))
        for method in _REQUESTS:
            self.add_request_handler(method, types.RequestParams, self._relay(method))

    @property
    def instructions(self) -> str | None:
        """The upstream's instructions, as last seen (read at each handshake)."""
        return self._instructions()

    @instructions.setter
    def instructions(self, value: str | None) -> None:
        """Ignored: instructions come from the upstream."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(True, True, True),
            experimental_capabilities,
            extensions,
        )

    # ------------------------------------------------------------------ handlers

    def _lister(self, kind: Kind) -> Any:
        async def handle(
            ctx: ServerRequestContext[Any, Any], _: types.RequestParams
        ) -> dict[str, Any]:
            self._remember(ctx)
            try:
                items = await self._resolve(ctx).list(kind)
            except UpstreamError as exc:
                raise _protocol_error(exc) from exc
            return _for_front(ctx, {kind: items})

        return handle

    def _relay(self, method: str) -> Any:
        async def handle(
            ctx: ServerRequestContext[Any, Any], _: types.RequestParams
        ) -> dict[str, Any]:
            self._remember(ctx)
            params = dict(ctx.params or {})
            meta = params.pop("_meta", None)
            notify = None
            token = meta.get("progressToken") if isinstance(meta, dict) else None
            if token is not None:
                params["_meta"] = {"progressToken": token}
                notify = _progress_relay(ctx)
            try:
                result = await self._resolve(ctx).request(method, params, notify=notify)
            except UnknownComponent as exc:
                raise MCPError(code=types.INVALID_PARAMS, message=str(exc)) from exc
            except UpstreamRejected as exc:
                raise _protocol_error(exc) from exc
            except UpstreamError as exc:
                if method != "tools/call":
                    raise _protocol_error(exc) from exc
                result = {"content": [{"type": "text", "text": str(exc)}], "isError": True}
            return _for_front(ctx, result)

        return handle

    def _remember(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Keep the latest session object of each stateful connection, to notify it later."""
        request = ctx.request
        session_id = request.headers.get("mcp-session-id") if request is not None else None
        if session_id is None or ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return
        self.sessions[session_id] = ctx.session
        self.sessions.move_to_end(session_id)
        while len(self.sessions) > _MAX_SESSIONS:
            self.sessions.popitem(last=False)

    async def notify_changed(self, kind: Kind) -> None:
        """Tell every connected client that the list of ``kind`` changed."""
        for session_id, session in list(self.sessions.items()):
            try:
                if kind == "tools":
                    await session.send_tool_list_changed()
                elif kind == "prompts":
                    await session.send_prompt_list_changed()
                else:
                    await session.send_resource_list_changed()
            except Exception:  # the client went away: forget it
                logger.debug("MCP session %s gone; not notifying it", session_id)
                self.sessions.pop(session_id, None)


def _progress_relay(ctx: ServerRequestContext[Any, Any]) -> Any:
    async def relay(method: str, params: dict[str, Any]) -> None:
        if method != "notifications/progress":
            return
        try:
            await ctx.session.report_progress(
                float(params.get("progress", 0)), params.get("total"), params.get("message")
            )
        except Exception:  # no stream to carry it (JSON responses): progress is optional
            logger.debug("progress notification not delivered", exc_info=True)

    return relay


def _for_front(ctx: ServerRequestContext[Any, Any], result: dict[str, Any]) -> dict[str, Any]:
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and "resultType" not in result:
        return {**result, "resultType": "complete"}
    return result


def _protocol_error(exc: UpstreamError) -> MCPError:
    if isinstance(exc, UpstreamRejected):
        return MCPError(code=exc.code, message=str(exc), data=exc.data)
    if isinstance(exc, UnknownComponent):
        return MCPError(code=types.INVALID_PARAMS, message=str(exc))
    return MCPError(code=types.INTERNAL_ERROR, message=str(exc))
