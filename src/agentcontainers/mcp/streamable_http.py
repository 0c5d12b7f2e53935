"""A lean client for upstreams that speak MCP's streamable HTTP transport.

Why not the SDK's client: it validates every result into models (the gateway only relays
them) and closes each POST's SSE response as soon as the answer arrives, which drops the TCP
connection, so every call pays for a new one. This client reads each response to its end over
keep-alive connections (:mod:`.http1`) and hands the raw JSON back.

It speaks the initialize-handshake era (``2025-11-25``), which current servers accept, listens
on the session's GET stream for list-changed notifications, and reports a session the server no
longer knows (404, or 400 naming the session: the server restarted) as
:class:`~.connection.SessionExpired`, so the pool re-initialises.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.abc
from pydantic_core import from_json, to_json

from agentcontainers.mcp.base import Notify, UpstreamRejected, UpstreamTimeout, UpstreamUnavailable
from agentcontainers.mcp.config import UpstreamConfig
from agentcontainers.mcp.connection import (
    CLIENT_INFO,
    HANDSHAKE_VERSION,
    Connection,
    Lost,
    NotSent,
    SessionExpired,
)
from agentcontainers.mcp.http1 import ConnectFailed, Http1Pool, Response

logger = logging.getLogger(__name__)

_DRAIN_SECONDS = 1.0
_LISTEN_RETRY_SECONDS = 1.0
_REQUEST_SCOPED = ("notifications/progress", "notifications/message")


async def _lines(response: Response) -> AsyncIterator[bytes]:
    pending = b""
    async for chunk in response.chunks():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.removesuffix(b"\r")
    if pending:
        yield pending.removesuffix(b"\r")


async def sse_messages(response: Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON-RPC messages in an SSE body (events of type ``message``)."""
    data: list[bytes] = []
    event = b"message"
    async for line in _lines(response):
        if not line:
            if data and event == b"message":
                text = b"\n".join(data)
                if text.strip():
                    message = from_json(text)
                    if isinstance(message, dict):
                        yield message
            data, event = [], b"message"
        elif line.startswith(b"data:"):
            data.append(line[5:].removeprefix(b" "))
        elif line.startswith(b"event:"):
            event = line[6:].strip()
    if data and event == b"message" and b"\n".join(data).strip():
        message = from_json(b"\n".join(data))
        if isinstance(message, dict):
            yield message


class HttpConnection(Connection):
    """One MCP session with a streamable-HTTP upstream over keep-alive connections."""

    def __init__(
        self,
        config: UpstreamConfig,
        task_group: anyio.abc.TaskGroup,
        *,
        on_notification: Notify,
        on_lost: Lost,
    ) -> None:
        super().__init__(on_notification=on_notification, on_lost=on_lost)
        assert config.url is not None
        self.name = config.name
        self._task_group = task_group
        self._http = Http1Pool(config.url, connect_timeout=config.connect_timeout)
        self._headers = {
            **config.headers,
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        self._ids = itertools.count(1)
        self._listener = anyio.CancelScope()
        self._closed = False
        self.session_id: str | None = None

    async def open(self) -> None:
        result = await self._exchange(
            "initialize",
            {"protocolVersion": HANDSHAKE_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO},
            timeout=None,
        )
        version = result.get("protocolVersion")
        if isinstance(version, str):
            self._headers["MCP-Protocol-Version"] = version
        self.capabilities = result.get("capabilities") or {}
        self.instructions = result.get("instructions")
        self.server_info = result.get("serverInfo")
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self._task_group.start_soon(self._listen)

    async def request(
        self,
        method: str,
        params: dict[str, Any],
        *,
        timeout: float,
        on_notification: Notify | None = None,
    ) -> dict[str, Any]:
        return await self._exchange(method, params, timeout=timeout, notify=on_notification)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._listener.cancel()
        with anyio.move_on_after(2, shield=True):
            if self.session_id is not None:
                try:
                    async with self._http.request("DELETE", self._session_headers()) as response:
                        await response.read()
                except OSError:
                    pass
            await self._http.aclose()

    # ------------------------------------------------------------------ internals

    def _session_headers(self) -> dict[str, str]:
        if self.session_id is None:
            return self._headers
        return {**self._headers, "Mcp-Session-Id": self.session_id}

    async def _exchange(
        self,
        method: str,
        params: dict[str, Any],
        *,
        timeout: float | None,
        notify: Notify | None = None,
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            with anyio.fail_after(timeout):
                return await self._send_request(body, notify)
        except TimeoutError:
            self._task_group.start_soon(self._cancel, request_id)
            raise UpstreamTimeout(
                f"MCP server '{self.name}' did not answer {method} within {timeout:g} s"
            ) from None

    async def _send_request(self, body: dict[str, Any], notify: Notify | None) -> dict[str, Any]:
        method = body["method"]
        try:
            async with self._http.request(
                "POST", self._session_headers(), to_json(body)
            ) as response:
                if response.status >= 400:
                    self._raise_for_status(response.status, await response.read())
                if method == "initialize":
                    self.session_id = response.headers.get("mcp-session-id")
                content_type = response.headers.get("content-type", "")
                if content_type.startswith("application/json"):
                    return self._result(from_json(await response.read()), method)
                if content_type.startswith("text/event-stream"):
                    return await self._read_stream(response, body["id"], method, notify)
                raise UpstreamUnavailable(
                    f"MCP server '{self.name}' answered {method} with {content_type or 'no body'}"
                )
        except ConnectFailed as exc:
            raise NotSent(f"MCP server '{self.name}' is unreachable: {exc}") from exc
        except OSError as exc:
            raise UpstreamUnavailable(
                f"MCP server '{self.name}' failed during {method}: {exc}"
            ) from exc
        except ValueError as exc:  # not JSON
            raise UpstreamUnavailable(
                f"MCP server '{self.name}' sent a malformed {method} answer"
            ) from exc

    def _raise_for_status(self, status: int, body: bytes) -> None:
        message = ""
        error: dict[str, Any] | None = None
        try:
            parsed = from_json(body) if body else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            error = parsed["error"]
            message = str(error.get("message", ""))
        if self.session_id is not None and (
            status == 404 or (status == 400 and "session" in message.lower())
        ):
            raise SessionExpired(f"MCP server '{self.name}' lost our session (HTTP {status})")
        if error is not None and status not in (401, 403):
            raise UpstreamRejected(int(error.get("code", -32603)), message, error.get("data"))
        raise UpstreamUnavailable(f"MCP server '{self.name}' answered HTTP {status}")

    def _result(self, message: Any, method: str) -> dict[str, Any]:
        error = message.get("error") if isinstance(message, dict) else None
        if isinstance(error, dict):
            raise UpstreamRejected(
                int(error.get("code", -32603)), str(error.get("message", "")), error.get("data")
            )
        result = message.get("result") if isinstance(message, dict) else None
        if not isinstance(result, dict):
            raise UpstreamUnavailable(f"MCP server '{self.name}' sent a malformed {method} answer")
        return result

    async def _read_stream(
        self, response: Response, request_id: int, method: str, notify: Notify | None
    ) -> dict[str, Any]:
        answer: dict[str, Any] | None = None
        messages = sse_messages(response)
        async for message in messages:
            if message.get("id") == request_id and "method" not in message:
                answer = message
                break
            await self._incoming(message, notify)
        if answer is None:
            raise UpstreamUnavailable(
                f"MCP server '{self.name}' closed the {method} stream without an answer"
            )
        # Read to the end so the keep-alive connection can serve the next call.
        with anyio.move_on_after(_DRAIN_SECONDS):
            async for message in messages:
                await self._incoming(message, notify)
        return self._result(answer, method)

    async def _incoming(self, message: dict[str, Any], notify: Notify | None) -> None:
        method = message.get("method")
        if not isinstance(method, str):
            return
        params = message.get("params") or {}
        if "id" in message:  # a request from the server: we offer no client features
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
            if method == "ping":
                reply["result"] = {}
            else:
                reply["error"] = {"code": -32601, "message": f"{method} is not supported"}
            self._task_group.start_soon(self._post, reply)
        elif notify is not None and method in _REQUEST_SCOPED:
            await notify(method, params)
        else:
            await self.on_notification(method, params)

    async def _post(self, message: dict[str, Any]) -> None:
        try:
            async with self._http.request(
                "POST", self._session_headers(), to_json(message)
            ) as response:
                await response.read()
        except OSError as exc:
            logger.debug(
                "MCP server %r: could not post %s: %s", self.name, message.get("method"), exc
            )

    async def _cancel(self, request_id: int) -> None:
        with anyio.move_on_after(2):
            await self._post(
                {
                    "jsonrpc": "2.0",
                    "method": "notifications/cancelled",
                    "params": {"requestId": request_id, "reason": "gateway timeout"},
                }
            )

    async def _listen(self) -> None:
        """Follow the session's GET stream for notifications; report the session lost."""
        with self._listener:
            headers = {**self._session_headers(), "Accept": "text/event-stream"}
            headers.pop("Content-Type", None)
            while not self._closed:
                try:
                    async with self._http.request("GET", headers) as response:
                        if response.status in (400, 404):
                            break
                        if response.status >= 400:
                            return  # no stream offered (405): lists refresh by their TTL
                        async for message in sse_messages(response):
                            await self._incoming(message, None)
                except ConnectFailed:
                    break
                except (OSError, ValueError) as exc:
                    logger.debug("MCP server %r: GET stream ended: %s", self.name, exc)
                await anyio.sleep(_LISTEN_RETRY_SECONDS)
            if not self._closed:
                await self.on_lost()
