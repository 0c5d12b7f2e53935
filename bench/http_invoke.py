"""The HTTP service against the bare CLI, and 20 concurrent invokes against the ideal.

1. ``POST /invoke`` of a new session on a running ``agentcontainers serve`` vs ``claude -p``
   on the same prompt, alternating, one run; prints the ratio of medians. Target (issue 3):
   <= 1.10x, for a plain persona (no MCP servers); the built-in assistant is shown too (its
   memory tools add an MCP server to every run).
2. 20 concurrent ``POST /invoke`` whose dev-model answer stalls 1 s each: wall time vs the
   ideal (1 s stall + one run), and vs 20 concurrent bare CLIs with the same stall (what the
   machine's cores allow).

Usage: ``python bench/http_invoke.py [ROUNDS]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import alternate, cli_envs, dev_model, report

from agentcontainers.runtime.claude_code import bundled_cli_path

PROMPT = "who are you"
CONCURRENT = 20
LISTENING = "agentcontainers listening on "


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """``agentcontainers serve --port 0``; returns the process and its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agentcontainers", "serve", "--port", "0", "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(LISTENING):
        process.kill()
        raise SystemExit(f"serve did not start: {line!r}")
    return process, line[len(LISTENING) :].strip()


def concurrently(count: int, call: object) -> float:
    """Wall seconds of ``count`` calls started together (one thread each)."""
    assert callable(call)
    threads = [threading.Thread(target=call, args=(n,)) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with dev_model() as url, tempfile.TemporaryDirectory() as tmp:
        bare_env, base = cli_envs(url, tmp)
        # "plain": a persona with no MCP servers and no instructions, so the comparison with
        # the bare CLI measures the service; the assistant adds its memory tools (MCP).
        plain = Path(tmp, "personas", "plain")
        plain.mkdir(parents=True)
        (plain / "agent.toml").write_text('name = "plain"\ndescription = "Benchmark persona."\n')
        server, server_url = start_server(
            {**base, "STATE_DIR": f"{tmp}/state", "AGENTS_PATH": str(plain.parent)}
        )
        cli = str(bundled_cli_path())
        client = httpx.Client(base_url=server_url, timeout=300)
        try:

            def bare(prompt: str = PROMPT) -> None:
                subprocess.run([cli, "-p", prompt, "--output-format", "json"], env=bare_env,
                               cwd=tmp, check=True, capture_output=True)  # fmt: skip

            def over_http(prompt: str = PROMPT, agent: str = "plain") -> None:
                response = client.post("/invoke", json={"prompt": prompt, "agent": agent})
                assert response.status_code == 200, response.text

            print(f"HTTP invoke (new session) vs bare Claude Code CLI, dev model, {rounds} rounds")
            times = alternate(
                rounds,
                **{
                    "bare claude -p": bare,
                    "POST /invoke (plain)": over_http,
                    "POST /invoke (assistant)": lambda: over_http(agent="assistant"),
                },
            )
            report(times, "bare claude -p")

            one_run = statistics.median(times["POST /invoke (plain)"])
            ideal = 1.0 + one_run
            stalled = "[[stall 1]] request {}"
            http_wall = concurrently(CONCURRENT, lambda n: over_http(stalled.format(n)))
            bare_wall = concurrently(CONCURRENT, lambda n: bare(stalled.format(n)))
            print(f"\n{CONCURRENT} concurrent invokes, each stalled 1 s by the dev model "
                  f"({os.cpu_count()} CPUs)")  # fmt: skip
            print(f"{'ideal (1 s + one run)':<28} {ideal:6.2f} s")
            print(f"{'20 x POST /invoke':<28} {http_wall:6.2f} s  ({http_wall / ideal:.2f}x ideal)")
            print(
                f"{'20 x bare claude -p':<28} {bare_wall:6.2f} s  ({bare_wall / ideal:.2f}x ideal)"
            )
            print(f"{'service / bare':<28} {http_wall / bare_wall:6.2f}x")
        finally:
            client.close()
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
