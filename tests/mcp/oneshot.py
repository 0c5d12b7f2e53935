"""A one-shot run as the core runtime does it: ``McpWiring`` (embedded gateway) + the real CLI.

    python -m tests.mcp.oneshot PROMPT SERVER[,SERVER] ALLOWED_TOOL[,TOOL]

The environment is the operator's (``STATE_DIR``, ``${NAME}_HOST``...) plus the CLI's
(``ANTHROPIC_BASE_URL``, ``CLAUDE_CONFIG_DIR``...). Prints the CLI's result object.
"""

from __future__ import annotations

import json
import os
import sys

import anyio

from agentcontainers.mcp.wiring import McpWiring
from agentcontainers.settings import Settings
from tests.fixtures.devmodel import bundled_claude


async def main(prompt: str, servers: str, allowed: str) -> None:
    async with McpWiring(Settings.from_env()) as wiring:
        config = await wiring.servers_for(servers.split(","), persona="assistant")
        command = [
            str(bundled_claude()), "-p", prompt, "--output-format", "json",
            "--mcp-config", json.dumps({"mcpServers": config}), "--strict-mcp-config",
            "--allowedTools", allowed, "--permission-mode", "dontAsk",
        ]  # fmt: skip
        process = await anyio.run_process(command, check=False, env=dict(os.environ))
        sys.stdout.write(process.stdout.decode())


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:4])
