"""The ``agentcontainers`` command: one module per command group, imported on demand.

Each command module exposes ``HELP``, ``add_arguments(parser)`` and ``main(args) -> int`` and
keeps heavy imports inside ``main`` so that ``agentcontainers run`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# pydantic scans every installed distribution for plugins at first use (tens of ms that each
# one-shot run would pay); this command uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

#: command name -> (module, one-line help); the module is imported only when chosen.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("agentcontainers.cli.run", "Run one request and print the response envelope."),
    "agents": ("agentcontainers.cli.agents", "List the personas (agents) available."),
    "sessions": ("agentcontainers.cli.sessions", "List, show or delete sessions."),
    "usage": ("agentcontainers.cli.usage", "Report cost and token usage per agent."),
    "serve": ("agentcontainers.cli.serve", "Serve the HTTP API (and web UI)."),
    "lambda": ("agentcontainers.cli.lambda_", "Run the AWS Lambda runtime interface client."),
    "mcp-proxy": ("agentcontainers.cli.mcp_proxy", "Serve the MCP gateway."),
    "dev-model": (
        "agentcontainers.cli.dev_model",
        "Serve the dev model, a stand-in for the Anthropic API.",
    ),
    "demo": (
        "agentcontainers.cli.demo",
        "Run the assistant on one prompt (what `make demo` does).",
    ),
}


def _parser(chosen: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentcontainers",
        description="Run AI agents (the Claude Code CLI) as isolated, stateless services.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            importlib.import_module(module_name).add_arguments(command)
    return parser


#: Commands whose process ends as soon as they return: their output is flushed and their
#: children are stopped, and tearing down a loaded interpreter (joining worker threads,
#: freeing modules) would add about 0.1 s to every one-shot run.
FAST_EXIT = {"run"}


def console() -> None:
    """The ``agentcontainers`` console script."""
    try:
        code = main()
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        os._exit(1)
    if _chosen(sys.argv[1:]) in FAST_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


def _chosen(args_list: Sequence[str]) -> str | None:
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    return chosen if chosen in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns its exit status.

    An :class:`~agentcontainers.errors.AgentContainersError` a command lets through (a bad
    ``AGENTS_PATH``, a bad setting) is one line on stderr and exit status 2, not a traceback.
    ``run`` never lets one through: it answers every error with an envelope.
    """
    from agentcontainers.errors import AgentContainersError

    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _parser(_chosen(args_list)).parse_args(args_list)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.main(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except AgentContainersError as exc:
        print(f"agentcontainers {args.command}: {exc.message}", file=sys.stderr)
        return 2
