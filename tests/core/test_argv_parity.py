"""Our command line is the one ``claude_agent_sdk`` builds for the same options, so the one
runtime code path stays in step with the SDK's transport as both evolve."""

from __future__ import annotations

import json
from pathlib import Path

from claude_agent_sdk import ClaudeAgentOptions
from claude_agent_sdk._internal.transport.subprocess_cli import SubprocessCLITransport

from agentcontainers.runtime.base import RunSpec
from agentcontainers.runtime.claude_code import build_argv


def sdk_argv(options: ClaudeAgentOptions) -> list[str]:
    transport = SubprocessCLITransport(prompt="", options=options)
    transport._cli_path = "claude"
    return transport._build_command()


def test_argv_matches_the_sdk(tmp_path: Path):
    servers = {"everything": {"type": "http", "url": "http://127.0.0.1:1/mcp/everything"}}
    spec = RunSpec(
        prompt="hi",
        cwd=tmp_path,
        config_dir=tmp_path,
        env={},
        tools=("Bash", "Read"),
        disallowed_tools=("Write",),
        append_system_prompt="APPEND",
        model="claude-x",
        max_turns=3,
        max_budget_usd=1.5,
        session_id="e2c3d429-413b-44be-9334-bff28c9953d0",
        resume=True,
        mcp_servers=servers,
        mcp_tool_rules=("mcp__everything",),
        extra_args={"agents": json.dumps({"a": {"description": "d", "prompt": "p"}})},
        partial_messages=True,
    )
    options = ClaudeAgentOptions(
        tools=["Bash", "Read"],
        allowed_tools=["Bash", "Read", "mcp__everything"],
        disallowed_tools=["Write"],
        system_prompt={"type": "preset", "preset": "claude_code", "append": "APPEND"},
        model="claude-x",
        max_turns=3,
        max_budget_usd=1.5,
        permission_mode="dontAsk",
        resume="e2c3d429-413b-44be-9334-bff28c9953d0",
        mcp_servers=servers,
        strict_mcp_config=True,
        setting_sources=[],
        extra_args={"agents": json.dumps({"a": {"description": "d", "prompt": "p"}})},
        include_partial_messages=True,
    )
    ours, theirs = build_argv(spec, "claude"), sdk_argv(options)
    assert _pairs(ours) == _pairs(theirs)


def _pairs(argv: list[str]) -> set[tuple[str, str]]:
    """Flags with their values, order-insensitive (the CLI does not care about order)."""
    pairs, i = set(), 1
    while i < len(argv):
        flag = argv[i]
        if "=" in flag or i + 1 >= len(argv) or argv[i + 1].startswith("--"):
            pairs.add((flag, ""))
            i += 1
        else:
            pairs.add((flag, argv[i + 1]))
            i += 2
    return pairs
