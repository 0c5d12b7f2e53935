"""``agentcontainers dev-model``: serve the dev model, a stand-in for the Anthropic API.

The dev model answers the Messages API deterministically, scripted by ``[[...]]`` directives in
the prompt (see :mod:`agentcontainers.devmodel` and docs/dev-model.md). Point the Claude Code
CLI at it with ``ANTHROPIC_BASE_URL``. It is not Claude, and says so.
"""

from __future__ import annotations

import argparse

HELP = (
    "Serve the dev model: a local, scripted stand-in for the Anthropic Messages API (not Claude)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's options (``--host``, ``--port``, ``--log-level``).

    Args:
        parser: The ``dev-model`` subparser.
    """
    from agentcontainers.devmodel.server import add_arguments as add_server_arguments

    add_server_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """Serve until interrupted; prints ``dev-model listening on http://HOST:PORT`` first.

    Args:
        args: Parsed options (``host``, ``port``, optional ``log_level``).

    Returns:
        The exit status.
    """
    from agentcontainers.devmodel.server import serve

    return serve(args.host, args.port, getattr(args, "log_level", "warning"))
