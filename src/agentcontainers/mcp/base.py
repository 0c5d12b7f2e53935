"""The gateway's one interface: a :class:`Backend` serves MCP components as plain wire dicts.

An upstream MCP server (:mod:`.pool`) is a backend; so is each wrapper that renames
(:mod:`.prefixed`), filters (:mod:`.filtered`), audits (:mod:`.audit`) or merges
(:mod:`.aggregate`) another. The HTTP front (:mod:`.front`) serves any backend. Results stay
the JSON the upstream sent (``dict``), so relaying a call costs no model round trip.

Example of an implementation::

    class Static(Backend):
        name = "static"

        async def list(self, kind: Kind) -> list[dict[str, Any]]:
            if kind == "tools":
                return [{"name": "ping", "inputSchema": {"type": "object"}}]
            return []

        async def request(self, method, params, *, notify=None):
            if method == "tools/call" and params["name"] == "ping":
                return {"content": [{"type": "text", "text": "pong"}]}
            raise UnknownComponent(f"Unknown tool: {params.get('name')}")
"""

from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Literal, Self

logger = logging.getLogger(__name__)

Kind = Literal["tools", "resources", "resourceTemplates", "prompts"]
"""A listable component family, named as in the list results (``{"tools": [...]}``)."""

KINDS: tuple[Kind, ...] = ("tools", "resources", "resourceTemplates", "prompts")

LIST_METHODS: dict[Kind, str] = {
    "tools": "tools/list",
    "resources": "resources/list",
    "resourceTemplates": "resources/templates/list",
    "prompts": "prompts/list",
}

CHANGED_NOTIFICATIONS: dict[str, Kind] = {
    "notifications/tools/list_changed": "tools",
    "notifications/resources/list_changed": "resources",
    "notifications/prompts/list_changed": "prompts",
}

Notify = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Receives a notification the upstream sent while serving a request: ``(method, params)``."""

ChangeListener = Callable[[Kind], Awaitable[None] | None]
"""Called with the kind whose list changed (templates change with ``resources``)."""


class UpstreamError(Exception):
    """A backend could not serve a request; the message is fit to show a caller."""


class UpstreamUnavailable(UpstreamError):
    """The upstream cannot be reached (down, refusing, restarting)."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer in time."""


class UpstreamRejected(UpstreamError):
    """The upstream answered with a JSON-RPC error, relayed as is."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class UnknownComponent(UpstreamError):
    """No such tool, prompt or resource here (or not visible to this caller)."""


class Backend(ABC):
    """Serves tools, resources, resource templates and prompts as MCP wire dicts.

    Subclasses implement :meth:`list` and :meth:`request`; the async lifecycle, the
    instructions and change listeners have working defaults.
    """

    name: str = ""

    def __init__(self) -> None:
        self._listeners: list[ChangeListener] = []

    @abstractmethod
    async def list(self, kind: Kind) -> list[dict[str, Any]]:
        """All components of ``kind`` (every page), as wire dicts.

        Raises:
            UpstreamError: The backend cannot list them now.
        """

    @abstractmethod
    async def request(
        self, method: str, params: dict[str, Any], *, notify: Notify | None = None
    ) -> dict[str, Any]:
        """Serve ``tools/call``, ``resources/read``, ``prompts/get`` or ``completion/complete``.

        Args:
            method: The JSON-RPC method.
            params: Its params (without connection-level ``_meta``).
            notify: Receives the progress and log notifications sent while serving it.

        Returns:
            The JSON-RPC result.

        Raises:
            UnknownComponent: The named component does not exist here.
            UpstreamError: Any other failure, with a message fit for the caller.
        """

    @property
    def instructions(self) -> str | None:
        """The server's instructions for the model, when known."""
        return None

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener(kind)`` whenever the list of ``kind`` may have changed."""
        self._listeners.append(listener)

    async def changed(self, kind: Kind) -> None:
        """Tell the listeners that the list of ``kind`` changed."""
        for listener in list(self._listeners):
            try:
                outcome = listener(kind)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # a listener's fault must not stop the others
                logger.exception("MCP change listener failed")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class WrapperBackend(Backend):
    """A backend that delegates everything to ``wrapped``; wrappers override what they change.

    The lifecycle is not forwarded: whoever created the wrapped backend owns it.
    """

    def __init__(self, wrapped: Backend) -> None:
        super().__init__()
        self.wrapped = wrapped
        self.name = wrapped.name

    def on_change(self, listener: ChangeListener) -> None:
        self.wrapped.on_change(listener)

    async def list(self, kind: Kind) -> list[dict[str, Any]]:
        return await self.wrapped.list(kind)

    async def request(
        self, method: str, params: dict[str, Any], *, notify: Notify | None = None
    ) -> dict[str, Any]:
        return await self.wrapped.request(method, params, notify=notify)

    @property
    def instructions(self) -> str | None:
        return self.wrapped.instructions


def component_name(method: str, params: dict[str, Any]) -> str:
    """The name (or URI) a request addresses: the tool, the prompt, the resource."""
    if method == "resources/read":
        return str(params.get("uri", ""))
    if method == "completion/complete":
        ref = params.get("ref") or {}
        return str(ref.get("name") or ref.get("uri") or "")
    return str(params.get("name", ""))
