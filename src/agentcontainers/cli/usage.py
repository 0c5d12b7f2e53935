"""``agentcontainers usage``: cost and tokens per agent, from the usage ledger."""

from __future__ import annotations

import argparse
import json

HELP = "Report cost and token usage per agent."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--all", action="store_true", help="every caller, not only local runs")


def main(args: argparse.Namespace) -> int:
    """Print the report."""
    import anyio

    from agentcontainers.service import LOCAL_CALLER, AgentService
    from agentcontainers.settings import Settings

    async def report() -> dict:  # type: ignore[type-arg]
        service = AgentService(Settings.from_env())
        try:
            return await service.usage(None if args.all else LOCAL_CALLER)
        finally:
            await service.aclose()

    totals = anyio.run(report)
    if args.json:
        print(json.dumps(totals, indent=2))
        return 0
    print(
        f"{'agent':<16}{'runs':>6}{'turns':>7}{'input tok':>12}{'output tok':>12}{'cost USD':>11}"
    )
    for name, row in totals["agents"].items():
        print(
            f"{name:<16}{row['runs']:>6}{row['turns']:>7}{row['input_tokens']:>12}"
            f"{row['output_tokens']:>12}{row['total_cost_usd']:>11.4f}"
        )
    print(f"{'total':<16}{totals['runs']:>6}{'':>31}{totals['total_cost_usd']:>11.4f}")
    return 0
