"""``agentcontainers agents``: the personas this installation can run."""

from __future__ import annotations

import argparse
import json

HELP = "List the personas (agents) available."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--json", action="store_true", help="print JSON")


def main(args: argparse.Namespace) -> int:
    """Print the personas."""
    from agentcontainers.agents import discover
    from agentcontainers.settings import Settings

    agents = discover(Settings.from_env().agents_dirs)
    if args.json:
        print(json.dumps([a.summary() for a in agents.values()], indent=2))
        return 0
    for agent in agents.values():
        print(f"{agent.name:<16} {agent.description}")
        print(f"{'':<16} tools: {', '.join(agent.tools) or '(none)'}")
        if agent.mcp_servers:
            print(f"{'':<16} MCP servers: {', '.join(agent.mcp_servers)}")
        if agent.subagents:
            print(f"{'':<16} subagents: {', '.join(s.name for s in agent.subagents)}")
    return 0
