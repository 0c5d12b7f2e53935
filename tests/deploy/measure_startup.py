"""Startup and per-request latency of the image's three modes, measured on this machine.

    .venv/bin/python -m tests.deploy.measure_startup [--repeat 5] [--agent NAME --agents-path DIR]

Runs ``docker/entrypoint.sh`` exactly as the tests do (no Docker engine here), against the dev
model, so the numbers are the service's and the CLI's own time with a model that answers at
once; a real model adds its latency on top. It prints one line per measurement (medians).
Not a test: docs/docker.md records its output and what it leaves out (image pull, Lambda's
lazy loading of the image, Firecracker start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.deploy.lambda_runtime_api import LambdaRuntimeAPI
from tests.deploy.tools import ENTRYPOINT, free_port, search_path
from tests.fixtures.devmodel import start_dev_model, stop_dev_model

REQUEST = {"prompt": "who are you"}


def report(label: str, samples: list[float]) -> None:
    """One line: what was measured, and the median in milliseconds."""
    print(f"{label:<62}{statistics.median(samples) * 1000:>7.0f} ms", flush=True)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def one_shot(env: dict[str, str], repeat: int) -> None:
    def run() -> None:
        proc = subprocess.run(
            [str(ENTRYPOINT), json.dumps(REQUEST)], capture_output=True, text=True, env=env
        )
        assert json.loads(proc.stdout)["statusCode"] == 200, proc.stdout + proc.stderr

    run()  # the first run also creates the state directory and warms the page cache
    samples = [_timed(run) for _ in range(repeat)]
    report("one-shot JSON argument -> envelope printed, process exited", samples)


def serve(env: dict[str, str], repeat: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(ENTRYPOINT)],
        env={**env, "PORT": str(port), "AGENTCONTAINERS_BIND": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.02)
        ready = time.perf_counter() - start
        report("serve  process start -> /healthz answers", [ready])

        def invoke() -> None:
            response = httpx.post(f"{url}/invoke", json=REQUEST, timeout=120)
            assert response.status_code == 200, response.text

        first = _timed(invoke)
        report("serve  first POST /invoke", [first])
        samples = [_timed(invoke) for _ in range(repeat)]
        report(f"serve  POST /invoke, warm (median of {repeat})", samples)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def lambda_mode(env: dict[str, str], repeat: int) -> None:
    with LambdaRuntimeAPI() as api:
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(ENTRYPOINT)],
            env={**env, "LAMBDA": "true", "AWS_LAMBDA_RUNTIME_API": api.address},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            while api.next_polls == 0:
                time.sleep(0.005)
            init = time.perf_counter() - start
            report("lambda init: process start -> first /invocation/next", [init])

            def invoke() -> None:
                outcome = api.invoke(REQUEST, timeout=120)
                assert outcome.kind == "response" and outcome.json()["statusCode"] == 200

            first = _timed(invoke)
            report("lambda first invocation (cold service)", [first])
            samples = [_timed(invoke) for _ in range(repeat)]
            report(f"lambda invocation, warm (median of {repeat})", samples)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--agent", help="persona to run (default: the built-in assistant)")
    parser.add_argument("--agents-path", help="AGENTS_PATH for --agent")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model = start_dev_model(root / "dev-model.log")
        try:
            env = {
                "PATH": search_path(),
                "HOME": str(root),
                "TMPDIR": str(root),
                "LANG": "C.UTF-8",
                "STATE_DIR": str(root / "state"),
                "ANTHROPIC_BASE_URL": model.url,
                "ANTHROPIC_API_KEY": "dev",
                "PYTHONUNBUFFERED": "1",
            }
            if args.agent:
                env["AGENT"] = args.agent
            if args.agents_path:
                env["AGENTS_PATH"] = str(Path(args.agents_path).resolve())
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"{os.cpu_count()} CPUs, load average {load}; agent {args.agent or 'assistant'}")
            for mode in (one_shot, serve, lambda_mode):
                try:
                    mode(env, args.repeat)
                except AssertionError as exc:
                    first_line = str(exc).splitlines()[0] if str(exc) else "assertion failed"
                    print(f"{mode.__name__:<7}FAILED: {first_line[:200]}", flush=True)
        finally:
            stop_dev_model(model.process)


if __name__ == "__main__":
    main()
