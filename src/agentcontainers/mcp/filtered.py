"""Hide the tools a caller may not use: not listed, and not callable either."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentcontainers.mcp.base import Backend, Kind, Notify, UnknownComponent, WrapperBackend


class Denied(UnknownComponent):
    """The tool exists but this caller may not use it (callers see ``Unknown tool``)."""


class FilteredBackend(WrapperBackend):
    """``wrapped`` showing only the tools ``allows(tool_name)`` accepts.

    Resources and prompts pass through; tool rules are about tools.
    """

    def __init__(self, wrapped: Backend, allows: Callable[[str], bool]) -> None:
        super().__init__(wrapped)
        self.allows = allows

    async def list(self, kind: Kind) -> list[dict[str, Any]]:
        items = await self.wrapped.list(kind)
        if kind != "tools":
            return items
        return [tool for tool in items if self.allows(str(tool.get("name", "")))]

    async def request(
        self, method: str, params: dict[str, Any], *, notify: Notify | None = None
    ) -> dict[str, Any]:
        if method == "tools/call" and not self.allows(str(params.get("name", ""))):
            raise Denied(f"Unknown tool: {params.get('name')}")
        return await self.wrapped.request(method, params, notify=notify)
