"""Several namespaced backends behind one endpoint (``/mcp``).

Lists are gathered from all members at once; a member that fails is left out (and logged), so
one dead upstream never empties the others' lists. Requests go to the member whose prefix the
name or URI carries (the longest, should one prefix start another).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio

from agentcontainers.mcp.base import Backend, Kind, Notify, UnknownComponent, UpstreamError
from agentcontainers.mcp.prefixed import PrefixedBackend

logger = logging.getLogger(__name__)


class AggregateBackend(Backend):
    """The union of ``members``, each already namespaced."""

    name = ""

    def __init__(self, members: Sequence[PrefixedBackend]) -> None:
        super().__init__()
        self.members = sorted(members, key=lambda m: len(m.prefix), reverse=True)

    async def list(self, kind: Kind) -> list[dict[str, Any]]:
        results: list[list[dict[str, Any]]] = [[] for _ in self.members]

        async def gather(index: int, member: PrefixedBackend) -> None:
            try:
                results[index] = await member.list(kind)
            except UpstreamError as exc:
                logger.warning(
                    "MCP server %r left out of the %s list: %s", member.prefix, kind, exc
                )

        async with anyio.create_task_group() as task_group:
            for index, member in enumerate(self.members):
                task_group.start_soon(gather, index, member)
        order = sorted(range(len(self.members)), key=lambda i: self.members[i].prefix)
        return [item for i in order for item in results[i]]

    async def request(
        self, method: str, params: dict[str, Any], *, notify: Notify | None = None
    ) -> dict[str, Any]:
        for member in self.members:
            if member.claims(method, params):
                return await member.request(method, params, notify=notify)
        ref = params.get("ref") or {}
        addressed = params.get("name") or params.get("uri") or ref.get("name") or ref.get("uri")
        raise UnknownComponent(f"Unknown {method.split('/')[0].rstrip('s')}: {addressed}")
