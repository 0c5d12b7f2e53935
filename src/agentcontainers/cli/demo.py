"""``agentcontainers demo``: the assistant answers one prompt, as ``make demo`` shows.

With ``ANTHROPIC_API_KEY`` set it talks to the real API; without, it starts the built-in dev
model (a local stand-in, not Claude) and says so plainly.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HELP = "Run the assistant on one prompt (what `make demo` does)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument(
        "--prompt", default="who are you", help="what to ask (default: who are you)"
    )
    parser.add_argument("--agent", default=None, help="persona (default: AGENT or assistant)")


def main(args: argparse.Namespace) -> int:
    """Run the demo; print the envelope and a short human summary."""
    env = dict(os.environ)
    dev_model = None
    if not env.get("ANTHROPIC_API_KEY") and not env.get("ANTHROPIC_AUTH_TOKEN"):
        dev_model = subprocess.Popen(
            [sys.executable, "-m", "agentcontainers", "dev-model", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert dev_model.stdout is not None
        line = dev_model.stdout.readline().strip()
        url = line.rsplit(" ", 1)[-1]
        if not url.startswith("http"):
            dev_model.kill()
            print(f"demo: the dev model did not start ({line!r})", file=sys.stderr)
            return 1
        env.update(ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="dev-model")
        print(
            "demo: ANTHROPIC_API_KEY is not set, so this uses the built-in DEV MODEL at "
            f"{url}:\n      a deterministic local stand-in for the Anthropic API, not Claude.\n"
            "      Set ANTHROPIC_API_KEY to talk to the real model.\n",
            file=sys.stderr,
        )
    else:
        print("demo: using the Anthropic API (ANTHROPIC_API_KEY is set).\n", file=sys.stderr)
    request = {"prompt": args.prompt}
    if args.agent:
        request["agent"] = args.agent
    try:
        print(f"$ agentcontainers run '{json.dumps(request)}'", file=sys.stderr)
        proc = subprocess.run(
            [sys.executable, "-m", "agentcontainers", "run", "--progress", "always",
             json.dumps(request)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    finally:
        if dev_model is not None:
            dev_model.terminate()
            dev_model.wait(timeout=10)
    print(proc.stdout, end="")
    try:
        envelope = json.loads(proc.stdout)
        body = json.loads(envelope["body"])
    except (ValueError, KeyError):
        return proc.returncode or 1
    print(
        f"\n{body.get('agent')} (status {envelope['statusCode']}, session {body.get('session_id')},"
        f" ${float(body.get('total_cost_usd') or 0):.4f}):\n\n  {body.get('result')}\n",
        file=sys.stderr,
    )
    return proc.returncode
