"""``agentcontainers sessions [list|show ID|delete ID]``: the local caller's sessions."""

from __future__ import annotations

import argparse
import json
import time

HELP = "List, show or delete sessions."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("action", nargs="?", default="list", choices=("list", "show", "delete"))
    parser.add_argument("session_id", nargs="?", help="the session (for show and delete)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--limit", type=int, default=50)


def main(args: argparse.Namespace) -> int:
    """Run the sub-action."""
    import anyio

    from agentcontainers.errors import AgentContainersError

    try:
        return anyio.run(_main, args)
    except AgentContainersError as exc:
        print(f"error: {exc.message}", file=__import__("sys").stderr)
        return 1


async def _main(args: argparse.Namespace) -> int:
    from agentcontainers.service import LOCAL_CALLER, AgentService
    from agentcontainers.settings import Settings

    service = AgentService(Settings.from_env())
    try:
        if args.action == "list":
            records = await service.list_sessions(LOCAL_CALLER, limit=args.limit)
            if args.json:
                print(json.dumps([r.public() for r in records], indent=2))
            for r in [] if args.json else records:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated_at))
                print(f"{r.id}  {when}  {r.agent:<12} {r.turns:>3} turns  "
                      f"${r.cost_usd:8.4f}  {r.title}")  # fmt: skip
            return 0
        if not args.session_id:
            raise SystemExit(f"agentcontainers sessions {args.action}: a SESSION_ID is needed")
        if args.action == "show":
            record = await service.get_session(LOCAL_CALLER, args.session_id)
            print(json.dumps(record.public(), indent=2))
            return 0
        await service.delete_session(LOCAL_CALLER, args.session_id)
        print(f"deleted {args.session_id}")
        return 0
    finally:
        await service.aclose()
