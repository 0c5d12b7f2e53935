"""Giving an agent its MCP servers: the ``mcpServers`` config for Claude Code's ``--mcp-config``.

A request's or persona's ``MCP_SERVERS`` names servers; :meth:`McpWiring.servers_for` checks
the names and points each at the gateway, ``/mcp/<name>``, so the agent sees
``mcp__<name>__<tool>``. The only credential in that config is a scoped token for this run
(its persona, these servers, its tool rules), never the gateway token or an upstream's.

With ``AGENTCONTAINERS_MCP_URL`` set, that gateway is used (its token,
``AGENTCONTAINERS_MCP_TOKEN``, signs the scoped tokens). Otherwise a gateway is started in this
process on first use, on 127.0.0.1 with a random token, and stopped with the wiring.

Example::

    async with McpWiring(settings) as wiring:
        servers = await wiring.servers_for(["everything"], persona="assistant")
        options = ClaudeAgentOptions(mcp_servers=servers, ...)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.abc

from agentcontainers.errors import ConfigError, InvalidRequest
from agentcontainers.mcp.config import gateway_config
from agentcontainers.mcp.policy import issue_token
from agentcontainers.settings import Settings

logger = logging.getLogger(__name__)

_TOKEN_REUSE_S = 60.0
_TOKEN_CACHE_SIZE = 1024


def known_servers(settings: Settings) -> set[str]:
    """Server names requests may use: ``${NAME}_HOST`` upstreams, the config file's, ``assistant``.

    Raises:
        ConfigError: The operator's MCP configuration is invalid.
    """
    return set(gateway_config(settings.environ).upstreams)


def parse_server_names(value: str | Iterable[str]) -> list[str]:
    """``"a, b"`` (or a list) as clean, lower-case, de-duplicated names in order."""
    items = value.split(",") if isinstance(value, str) else value
    names: list[str] = []
    for item in items:
        name = item.strip().lower()
        if name and name not in names:
            names.append(name)
    return names


class McpWiring:
    """Hands out MCP server configs pointing at the gateway; one per process.

    Use as an async context manager; an embedded gateway, if one was started, stops on exit.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._task_group: anyio.abc.TaskGroup | None = None
        self._lock = anyio.Lock()
        self._embedded: Any = None
        self._base: tuple[str, str | None] | None = None
        self._tokens: dict[tuple[Any, ...], tuple[str, float]] = {}

    async def __aenter__(self) -> Self:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._embedded is not None:
            self._embedded.stop()
        assert self._task_group is not None
        await self._task_group.__aexit__(exc_type, exc, tb)
        self._task_group = None
        self._embedded = None
        self._base = None

    async def start(self) -> str:
        """Make sure the gateway is up (starting the embedded one); returns its base URL.

        Optional: :meth:`servers_for` starts it on first use. Calling this early lets the
        start overlap other work.
        """
        base = (await self._gateway())[0]
        if self._embedded is not None:
            await self._embedded.ready()
        return base

    async def warm(self) -> None:
        """Start an embedded gateway loading, without waiting for it: long-lived ingresses call
        this at start-up so that their first run finds it serving."""
        await self._gateway()

    @property
    def gateway_url(self) -> str | None:
        """The gateway's base URL, once known."""
        return None if self._base is None else self._base[0]

    async def servers_for(
        self,
        names: list[str],
        *,
        persona: str,
        allow: list[str] | None = None,
        deny: list[str] | None = None,
        wait: bool = True,
    ) -> dict[str, dict[str, Any]]:
        """The ``mcpServers`` mapping that gives ``persona``'s agent these servers.

        Args:
            names: Server names (``MCP_SERVERS``); case and blanks are ignored.
            persona: The persona the run is for (named in the audit log, and in its rules).
            allow: Tool names or patterns the agent may use (``mcp__<server>`` or
                ``mcp__<server>__<tool>``, ``fnmatch`` wildcards); ``None`` for no limit.
            deny: Tool names or patterns the agent may not use.
            wait: Return only once the gateway serves. ``False`` returns as soon as its
                address is known (an embedded gateway may still be loading; clients that
                connect meanwhile wait for it), so that starting the agent overlaps the
                gateway's start.

        Returns:
            ``{name: {"type": "http", "url": ..., "headers": {"Authorization": ...}}}``.

        Raises:
            InvalidRequest: A name is not a known server.
            ConfigError: The MCP configuration is invalid, or cannot enforce the rules.
        """
        wanted = parse_server_names(names)
        if not wanted:
            return {}
        known = known_servers(self.settings)
        for name in wanted:
            if name not in known:
                raise InvalidRequest(
                    f"unknown MCP server '{name}' in MCP_SERVERS; known: {', '.join(sorted(known))}"
                )
        base, secret = await self._gateway()
        if wait and self._embedded is not None:
            await self._embedded.ready()
        headers: dict[str, str] = {}
        if secret is not None:
            token = self._token(secret, persona, wanted, allow, deny or [])
            headers["Authorization"] = f"Bearer {token}"
        elif allow is not None or deny:
            raise ConfigError(
                "AGENTCONTAINERS_MCP_URL is set without AGENTCONTAINERS_MCP_TOKEN, so the gateway "
                "cannot enforce this persona's MCP tool rules; set the gateway's token"
            )
        return {
            name: {
                "type": "http",
                "url": f"{base}/mcp/{name}",
                **({"headers": headers} if headers else {}),
            }
            for name in wanted
        }

    def _token(
        self,
        secret: str,
        persona: str,
        servers: list[str],
        allow: list[str] | None,
        deny: list[str],
    ) -> str:
        """A scoped token, the same one for the same scope within a minute (so that two
        configs built for one run, e.g. before and after validation, are equal)."""
        key = (secret, persona, tuple(servers), None if allow is None else tuple(allow), *deny)
        now = time.monotonic()
        cached = self._tokens.get(key)
        if cached is None or now - cached[1] > _TOKEN_REUSE_S:
            if len(self._tokens) > _TOKEN_CACHE_SIZE:
                self._tokens.clear()
            token = issue_token(secret, persona=persona, servers=servers, allow=allow, deny=deny)
            cached = self._tokens[key] = (token, now)
        return cached[0]

    async def _gateway(self) -> tuple[str, str | None]:
        if self._base is not None:
            return self._base
        async with self._lock:
            if self._base is not None:
                return self._base
            external = (self.settings.mcp_gateway_url or "").strip().rstrip("/")
            if external:
                token = self.settings.mcp_gateway_token
                if token is None:
                    logger.warning(
                        "AGENTCONTAINERS_MCP_URL is set without a token; not authenticating"
                    )
                self._base = (
                    external.removesuffix("/mcp"),
                    token.get_secret_value() if token is not None else None,
                )
                return self._base
            if self._task_group is None:
                raise RuntimeError("use McpWiring as an async context manager")
            from agentcontainers.mcp.embedded import EmbeddedGateway, assistant_db_path

            embedded = EmbeddedGateway(
                gateway_config(self.settings.environ), assistant_db=assistant_db_path(self.settings)
            )
            url = embedded.start(self._task_group)
            self._embedded = embedded
            self._base = (url, embedded.token)
            return self._base
