"""Shared helpers for the benchmarks: a dev model to run against, timing, medians."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def dev_model() -> Iterator[str]:
    """Start ``agentcontainers dev-model`` on a free port; yield its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcontainers", "dev-model", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip().rsplit(" ", 1)[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cli_envs(url: str, tmp: str) -> tuple[dict[str, str], dict[str, str]]:
    """Environments for the bare CLI and for agentcontainers, against the dev model at ``url``."""
    base = {"PATH": os.environ["PATH"], "HOME": tmp, "ANTHROPIC_BASE_URL": url,
            "ANTHROPIC_API_KEY": "bench"}  # fmt: skip
    bare = {
        **base,
        "CLAUDE_CONFIG_DIR": f"{tmp}/bare",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    return bare, base


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(rounds: int, **cases: Callable[[], object]) -> dict[str, list[float]]:
    """Run each case once per round, in turn, so machine noise hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm-up: page cache, bytecode
        fn()
    for i in range(rounds):
        for name, fn in cases.items():
            times[name].append(timed(fn))
        print(f"  round {i + 1}/{rounds}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return times


def report(times: dict[str, list[float]], baseline: str) -> None:
    """Print median and p90 per case and each case's median ratio to the baseline."""
    base = statistics.median(times[baseline])
    for name, values in times.items():
        med = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        print(f"{name:<28} median {med * 1000:7.0f} ms  p90 {p90 * 1000:7.0f} ms  "
              f"ratio {med / base:5.2f}x")  # fmt: skip
