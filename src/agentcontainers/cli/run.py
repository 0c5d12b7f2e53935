"""``agentcontainers run [--agent NAME] REQUEST|-``: one request, the envelope on stdout.

Exit status 0 when the status is 200 and ``is_error`` is false, else 1. On a terminal, the
run's progress (tool calls, text) is shown on stderr; stdout carries only the envelope.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentcontainers.result import AgentResult

HELP = "Run one request and print the response envelope."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("request", help="the request as JSON, or - to read it from stdin")
    parser.add_argument("--agent", help="persona to run (overrides the request's and AGENT)")
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="show progress on stderr (default: when stderr is a terminal)",
    )


def main(args: argparse.Namespace) -> int:
    """Run the request; print the envelope; return the exit status."""
    import anyio

    from agentcontainers.errors import AgentContainersError
    from agentcontainers.result import AgentResult

    raw = sys.stdin.read() if args.request == "-" else args.request
    try:
        result = anyio.run(_invoke, raw, args.agent, _show_progress(args.progress))
    except AgentContainersError as exc:
        result = AgentResult.from_error(exc, agent=args.agent)
    print(json.dumps(result.envelope(), ensure_ascii=False))
    return 0 if result.ok else 1


def _show_progress(mode: str) -> bool:
    return mode == "always" or (mode == "auto" and sys.stderr.isatty())


async def _invoke(raw: str, agent: str | None, progress: bool) -> AgentResult:
    from agentcontainers.request import parse_request
    from agentcontainers.service import AgentService
    from agentcontainers.settings import Settings

    request = parse_request(raw)
    if agent:
        request = parse_request({**request.model_dump(exclude_none=True), "agent": agent})
    service = AgentService(Settings.from_env())
    try:
        return await service.invoke(request, on_event=_progress_printer() if progress else None)
    finally:
        await service.aclose()


def _progress_printer():  # type: ignore[no-untyped-def]
    from agentcontainers.cli.progress import ProgressPrinter

    return ProgressPrinter(sys.stderr)
