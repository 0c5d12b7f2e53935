"""The MCP gateway as an ASGI app: ``/mcp/<name>`` per upstream, ``/mcp`` for all of them.

Request path, outermost first: Host/Origin checks (DNS rebinding), bearer auth (the gateway
token, or a scoped token naming a persona's servers and tool rules, see :mod:`.policy`), the
route, then the route's MCP server (:mod:`.front`), which relays to the caller's view of the
upstreams: the pooled upstream (:mod:`.pool`), filtered by the caller's grant, audited, and
for ``/mcp`` namespaced and merged. The caller's ``Authorization`` ends here; upstreams get
only the credentials the operator configured for them.

Example::

    gateway = Gateway(gateway_config(os.environ), token="s3cret", assistant_db=Path("a.db"))
    async with gateway:
        await uvicorn.Server(uvicorn.Config(gateway, lifespan="off")).serve()
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from agentcontainers.mcp.aggregate import AggregateBackend
from agentcontainers.mcp.audit import AuditedBackend
from agentcontainers.mcp.base import Backend, Kind
from agentcontainers.mcp.config import GatewayConfig, UpstreamConfig
from agentcontainers.mcp.filtered import FilteredBackend
from agentcontainers.mcp.front import FrontServer
from agentcontainers.mcp.policy import FULL_ACCESS, Grant, issue_token, verify_token
from agentcontainers.mcp.pool import PooledUpstream, connection_factory
from agentcontainers.mcp.prefixed import PrefixedBackend

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_NO_ACCESS = Grant(servers=frozenset())
_VIEW_CACHE_SIZE = 1024


def _host_allowed(host: str, allowed: Sequence[str]) -> bool:
    for pattern in allowed:
        if pattern == "*" or host == pattern:
            return True
        if pattern.endswith(":*") and (host == pattern[:-2] or host.startswith(pattern[:-1])):
            return True
    return False


async def _respond(
    send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class Gateway:
    """Serves the configured upstreams to MCP clients. An async context manager and an ASGI app.

    Args:
        config: Upstreams and per-persona rules.
        token: The gateway token; ``None`` serves without authentication (loopback only).
        allowed_hosts: ``Host`` values accepted besides loopback (``name:*`` for any port;
            ``*`` turns the check off).
        assistant_db: SQLite file of the built-in ``assistant`` server.
        memory_servers: In-process servers (``mcp`` ``MCPServer``, or ``fastmcp``) for
            upstreams of transport ``memory``, by name; the built-in ``assistant`` is built
            when not given.
        json_response: Answer POSTs with JSON (fast) rather than an SSE stream (which can
            carry progress notifications while a tool runs).
        list_ttl: Seconds a component list is reused before it is asked again.
        startup_wait: At most this long, entering waits for each upstream's first connection
            attempt (so the first clients find them connected); a slow one is not waited for.
    """

    def __init__(
        self,
        config: GatewayConfig,
        *,
        token: str | None = None,
        allowed_hosts: Sequence[str] = (),
        assistant_db: Path | None = None,
        memory_servers: Mapping[str, Any] | None = None,
        json_response: bool = True,
        list_ttl: float = 2.0,
        startup_wait: float = 5.0,
    ) -> None:
        self.config = config
        self.token = token
        self.allowed_hosts = [f"{host}:*" for host in LOOPBACK_HOSTS] + [
            host if host == "*" or ":" in host else f"{host}:*" for host in allowed_hosts
        ]
        in_process = dict(memory_servers or {})
        self.upstreams: dict[str, PooledUpstream] = {
            name: PooledUpstream(
                upstream,
                self._connector(upstream, in_process.get(name), assistant_db),
                list_ttl=list_ttl,
            )
            for name, upstream in config.upstreams.items()
        }
        self._views: OrderedDict[tuple[object, ...], Backend] = OrderedDict()
        self.fronts: dict[str, FrontServer] = {
            name: FrontServer(
                f"agentcontainers-mcp/{name}",
                partial(self._resolve, name),
                instructions=partial(getattr, upstream, "instructions"),
            )
            for name, upstream in self.upstreams.items()
        }
        self.fronts[""] = FrontServer("agentcontainers-mcp", partial(self._resolve, None))
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        self._managers = {
            route: StreamableHTTPSessionManager(
                app=front, json_response=json_response, security_settings=security
            )
            for route, front in self.fronts.items()
        }
        self._stack: AsyncExitStack | None = None
        self._startup_wait = startup_wait

    @staticmethod
    def _connector(upstream: UpstreamConfig, server: Any, assistant_db: Path | None) -> Any:
        if upstream.transport != "memory":
            return connection_factory(upstream)
        if server is None:
            from agentcontainers.mcp.memory.server import build_memory_server

            if assistant_db is None:
                raise ValueError("the built-in assistant server needs assistant_db")
            server = build_memory_server(assistant_db)
        return connection_factory(upstream, memory_server=server)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            for name, upstream in self.upstreams.items():
                await stack.enter_async_context(upstream)
                upstream.on_change(partial(self._changed, name))
            for manager in self._managers.values():
                await stack.enter_async_context(manager.run())
            with anyio.move_on_after(self._startup_wait):
                for upstream in self.upstreams.values():
                    await upstream.first_attempt.wait()
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    async def _changed(self, name: str, kind: Kind) -> None:
        await self.fronts[name].notify_changed(kind)
        await self.fronts[""].notify_changed(kind)

    # ------------------------------------------------------------------ tokens and views

    def issue_token(
        self,
        persona: str,
        servers: Sequence[str],
        allow: Sequence[str] | None = None,
        deny: Sequence[str] = (),
    ) -> str:
        """A scoped token for ``persona``'s run (requires a gateway token)."""
        if self.token is None:
            raise RuntimeError("scoped tokens need a gateway token")
        return issue_token(self.token, persona=persona, servers=servers, allow=allow, deny=deny)

    def _grant(self, authorization: str | None) -> Grant | None:
        if self.token is None:
            return FULL_ACCESS
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return None
        grant = verify_token(self.token, credential.strip())
        return None if grant is None else grant.with_rules(self.config.personas)

    def _resolve(self, route: str | None, ctx: ServerRequestContext[Any, Any]) -> Backend:
        request = ctx.request
        grant: Grant = (
            request.scope.get("state", {}).get("mcp_grant", _NO_ACCESS)
            if request is not None
            else _NO_ACCESS
        )
        key = (route, grant.cache_key)
        view = self._views.get(key)
        if view is None:
            if route is None:
                names = [name for name in self.upstreams if grant.reaches(name)]
                view = AggregateBackend([PrefixedBackend(self._view(n, grant), n) for n in names])
            else:
                view = self._view(route, grant)
            self._views[key] = view
            while len(self._views) > _VIEW_CACHE_SIZE:
                self._views.popitem(last=False)
        return view

    def _view(self, name: str, grant: Grant) -> Backend:
        backend: Backend = self.upstreams[name]
        if grant.restricts_tools:
            backend = FilteredBackend(backend, partial(grant.allows_tool, name))
        return AuditedBackend(backend, persona=grant.persona, arguments=self.config.audit_arguments)

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if not _host_allowed(headers.get("host", ""), self.allowed_hosts):
            await _respond(send, 421, {"error": "Host not allowed"})
            return
        origin = headers.get("origin")
        if origin is not None and not _host_allowed(origin.partition("://")[2], self.allowed_hosts):
            await _respond(send, 403, {"error": "Origin not allowed"})
            return
        path = scope["path"].rstrip("/") or "/"
        if path == "/healthz":
            await _respond(send, 200, {"status": "ok"})
            return
        if path != "/mcp" and not path.startswith("/mcp/"):
            await _respond(
                send, 404, {"error": "not found; MCP is served at /mcp and /mcp/<server>"}
            )
            return
        grant = self._grant(headers.get("authorization"))
        if grant is None:
            await _respond(
                send,
                401,
                {"error": "missing or invalid bearer token"},
                [(b"www-authenticate", b'Bearer realm="agentcontainers-mcp"')],
            )
            return
        route = path[len("/mcp/") :] if path.startswith("/mcp/") else ""
        if route not in self._managers:
            known = ", ".join(sorted(self.upstreams)) or "none"
            await _respond(send, 404, {"error": f"unknown MCP server '{route}'; known: {known}"})
            return
        if route and not grant.reaches(route):
            await _respond(send, 403, {"error": f"this token does not grant MCP server '{route}'"})
            return
        scope = {**scope, "state": {**scope.get("state", {}), "mcp_grant": grant}}
        await self._managers[route].handle_request(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.__aenter__()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.__aexit__(None, None, None)
                await send({"type": "lifespan.shutdown.complete"})
                return
