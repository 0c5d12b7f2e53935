"""The one-shot path against the bare CLI: ``agentcontainers run`` vs ``claude -p``.

Same prompt, same dev model, alternating, one run; prints the ratio of medians. Cases:
``plain`` (a persona with Claude Code's defaults and no MCP servers, like the bare CLI: the
service's own overhead, which the target is about), and the built-in ``assistant`` (Clarice,
whose memory MCP server is started inside the one-shot process, for reference).

Target (issue 2): <= 1.25x for ``plain``.
Usage: ``python bench/cli_overhead.py [ROUNDS] [--assistant]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import alternate, cli_envs, dev_model, report

from agentcontainers.runtime.claude_code import bundled_cli_path

PROMPT = "who are you"


def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    rounds = int(numbers[0]) if numbers else 10
    with dev_model() as url, tempfile.TemporaryDirectory() as tmp:
        bare_env, base = cli_envs(url, tmp)
        ours_env = {
            **base,
            "STATE_DIR": f"{tmp}/state",
            "AGENTS_PATH": str(Path(__file__).parent / "personas"),
            "AGENT": "plain",
        }
        cli = str(bundled_cli_path())
        request = json.dumps({"prompt": PROMPT})

        def bare() -> None:
            subprocess.run([cli, "-p", PROMPT, "--output-format", "json"], env=bare_env,
                           cwd=tmp, check=True, capture_output=True)  # fmt: skip

        def ours() -> None:
            subprocess.run([sys.executable, "-m", "agentcontainers", "run", request],
                           env=ours_env, check=True, capture_output=True)  # fmt: skip

        def assistant() -> None:
            subprocess.run([sys.executable, "-m", "agentcontainers", "run", request],
                           env={**ours_env, "AGENT": "assistant"}, check=True,
                           capture_output=True)  # fmt: skip

        print(f"one-shot CLI vs bare Claude Code CLI, dev model, {rounds} rounds alternating")
        cases = {"bare claude -p": bare, "agentcontainers run (plain)": ours}
        if "--assistant" in sys.argv:
            cases["agentcontainers run (assistant)"] = assistant
        times = alternate(rounds, **cases)
        report(times, "bare claude -p")


if __name__ == "__main__":
    main()
