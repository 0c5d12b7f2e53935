"""A small upstream MCP server for the gateway's tests (``fastmcp``; tools, resources,
templates, prompts, a slow tool, and a tool that grows the tool list)."""

from __future__ import annotations

import os
from typing import Any

import anyio
import mcp_types
from fastmcp import Context, FastMCP


def build_sample_server(name: str = "sample", *, can_exit: bool = False) -> FastMCP[Any]:
    """The sample server; ``grow(name)`` adds a tool and tells the client.

    With ``can_exit`` (only for servers in a process of their own), ``exit_process`` ends the
    process, as a crashing stdio server would.
    """
    server: FastMCP[Any] = FastMCP(name, instructions=f"The {name} server, for tests.")

    if can_exit:

        @server.tool
        def exit_process() -> str:
            """End this server's process at once."""
            os._exit(3)

    @server.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @server.tool
    def fail(message: str) -> str:
        """Always fails with ``message``."""
        raise ValueError(message)

    @server.tool
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        await anyio.sleep(seconds)
        return "done"

    @server.tool
    async def grow(tool_name: str, ctx: Context) -> str:
        """Add a tool named ``tool_name`` and announce the change."""

        def grown() -> str:
            return f"I am {tool_name}"

        server.tool(grown, name=tool_name)
        await ctx.send_notification(mcp_types.ToolListChangedNotification())
        return "grown"

    @server.resource("data://greeting", mime_type="text/plain")
    def greeting() -> str:
        return "hello"

    @server.resource("data://items/{item}")
    def item(item: str) -> str:
        return f"item {item}"

    @server.prompt
    def hello(person: str) -> str:
        """Greet someone."""
        return f"Say hello to {person}"

    return server
