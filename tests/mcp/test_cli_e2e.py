"""The real Claude Code CLI with the dev model, given MCP servers through the gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentcontainers.mcp.wiring import McpWiring
from agentcontainers.settings import Settings
from tests.fixtures.devmodel import run_claude
from tests.fixtures.mcp import ROOT, SRC, NodeMcpServer

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

UPSTREAM_TOKEN = "everything-upstream-secret"


def mcp_args(servers: dict[str, Any], *allowed: str) -> list[str]:
    return [
        "--mcp-config", json.dumps({"mcpServers": servers}), "--strict-mcp-config",
        "--allowedTools", ",".join(allowed), "--permission-mode", "dontAsk",
    ]  # fmt: skip


@pytest.fixture
def settings(everything_upstream: NodeMcpServer, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "EVERYTHING_HOST": everything_upstream.url,
            "EVERYTHING_TOKEN": UPSTREAM_TOKEN,
            "STATE_DIR": str(tmp_path / "state"),
        }
    )


async def claude(prompt: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    # Offer MCP tools up front rather than behind ToolSearch, so [[echo-tools]] lists them.
    env = {**env, "ENABLE_TOOL_SEARCH": "false"}
    return await anyio.to_thread.run_sync(lambda: run_claude(prompt, env, *args))


async def test_a_run_with_mcp_servers_calls_an_upstream_tool_and_one_without_cannot_see_it(
    settings: Settings, cli_env: dict[str, str]
) -> None:
    async with McpWiring(settings) as wiring:
        servers = await wiring.servers_for(["everything"], persona="assistant")
        assert servers["everything"]["url"].endswith("/mcp/everything")
        assert UPSTREAM_TOKEN not in json.dumps(servers)

        called = await claude(
            '[[tool mcp__everything__echo {"message": "hi from the agent"}]]',
            cli_env,
            *mcp_args(servers, "mcp__everything__echo"),
        )
        assert called["is_error"] is False, called
        assert "Echo: hi from the agent" in called["result"]

        offered = await claude(
            "[[echo-tools]]", cli_env, *mcp_args(servers, "mcp__everything__echo")
        )
        assert "mcp__everything__echo" in offered["result"]

        denied = await wiring.servers_for(
            ["everything"], persona="assistant", deny=["mcp__everything__echo"]
        )
        narrowed = await claude(
            "[[echo-tools]]", cli_env, *mcp_args(denied, "mcp__everything__get-sum")
        )
        assert "mcp__everything__get-sum" in narrowed["result"]
        assert "mcp__everything__echo" not in narrowed["result"]

    without = await claude("[[echo-tools]]", cli_env)
    assert "mcp__everything__" not in without["result"]


async def test_no_upstream_token_reaches_the_agent(
    settings: Settings, cli_env: dict[str, str]
) -> None:
    async with McpWiring(settings) as wiring:
        servers = await wiring.servers_for(["everything", "assistant"], persona="assistant")
        shown = await claude(
            '[[tool Bash {"command": "env; ps -ef"}]]', cli_env, *mcp_args(servers, "Bash")
        )
    assert shown["is_error"] is False, shown
    assert "PATH=" in shown["result"]
    assert UPSTREAM_TOKEN not in shown["result"]
    assert UPSTREAM_TOKEN not in json.dumps(servers)


def oneshot(prompt: str, env: dict[str, str], allowed: str) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-m", "tests.mcp.oneshot", prompt, "assistant", allowed],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": os.pathsep.join([str(SRC), str(ROOT)])},
        cwd=ROOT,
        timeout=150,
    )
    assert process.stdout.strip(), process.stderr
    result: dict[str, Any] = json.loads(process.stdout)
    return result


async def test_clarice_saves_a_todo_in_one_process_and_lists_it_from_another(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "STATE_DIR": str(tmp_path / "state")}
    saved = await anyio.to_thread.run_sync(
        lambda: oneshot(
            '[[tool mcp__assistant__create_todo {"title": "Buy oat milk", "priority": 2}]]',
            env,
            "mcp__assistant__create_todo",
        )
    )
    assert saved["is_error"] is False, saved
    assert "Buy oat milk" in saved["result"]

    listed = await anyio.to_thread.run_sync(
        lambda: oneshot("[[tool mcp__assistant__list_todos {}]]", env, "mcp__assistant__list_todos")
    )
    assert listed["is_error"] is False, listed
    assert "Buy oat milk" in listed["result"]
    assert (tmp_path / "state" / "assistant.db").exists()
