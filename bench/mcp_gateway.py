"""Tool calls through the MCP gateway vs straight to the upstream, in one run.

Starts ``@modelcontextprotocol/server-everything`` (streamable HTTP, from tests/peers) and
``agentcontainers mcp-proxy`` in front of it, then has the same client (``fastmcp.Client``)
call the upstream's ``echo`` tool, alternating rounds between the direct and the gateway path
so machine noise hits both alike. Prints p50/p95 latency and throughput (sequential calls, and
``--concurrency`` clients at once) for each, and the ratios. Targets: p50 <= 1.5x direct,
throughput >= 0.6x direct.

    .venv/bin/python bench/mcp_gateway.py [--calls 300] [--rounds 4] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastmcp import Client

ROOT = Path(__file__).resolve().parents[1]
EVERYTHING = ROOT / "tests/peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_everything(port: int) -> subprocess.Popen[bytes]:
    if not EVERYTHING.exists():
        sys.exit("server-everything is missing: run `cd tests/peers && npm install`")
    process = subprocess.Popen(
        ["node", str(EVERYTHING), "streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit("server-everything did not start")


def start_gateway(upstream: str, state: Path) -> tuple[subprocess.Popen[str], str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(ROOT / "src"),
        "STATE_DIR": str(state),
        "EVERYTHING_HOST": upstream,
        "AGENTCONTAINERS_MCP_TOKEN": TOKEN,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentcontainers",
            "mcp-proxy",
            "--port",
            "0",
            "--audit-log",
            os.devnull,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=30):
            process.kill()
            sys.exit("mcp-proxy did not start")
    line = process.stdout.readline().strip()
    return process, line.rsplit(" ", 1)[-1]


async def sequential(
    call: Callable[[], Awaitable[object]], calls: int
) -> tuple[list[float], float]:
    latencies = []
    start = time.perf_counter()
    for _ in range(calls):
        began = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - began)
    return latencies, calls / (time.perf_counter() - start)


async def concurrent(url: str, auth: str | None, clients: int, calls: int) -> float:
    async def worker(client: Client) -> None:
        for _ in range(calls // clients):
            await client.call_tool("echo", {"message": "hi"})

    connected = [Client(url, auth=auth) for _ in range(clients)]
    for client in connected:
        await client.__aenter__()
    try:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for client in connected))
        return (calls // clients) * clients / (time.perf_counter() - start)
    finally:
        for client in connected:
            await client.__aexit__(None, None, None)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(direct_url: str, gateway_url: str, args: argparse.Namespace) -> None:
    paths = {"direct": (direct_url, None), "gateway": (gateway_url, TOKEN)}
    latencies: dict[str, list[float]] = {name: [] for name in paths}
    rates: dict[str, list[float]] = {name: [] for name in paths}
    parallel: dict[str, list[float]] = {name: [] for name in paths}
    async with Client(direct_url) as direct, Client(gateway_url, auth=TOKEN) as through:
        clients = {"direct": direct, "gateway": through}
        for client in clients.values():  # warm up both paths
            for _ in range(30):
                await client.call_tool("echo", {"message": "hi"})
        for _ in range(args.rounds):
            for name, client in clients.items():
                result = await client.call_tool("echo", {"message": "hi"})
                assert result.content[0].text == "Echo: hi", result  # type: ignore[union-attr]
                lat, rate = await sequential(
                    lambda c=client: c.call_tool("echo", {"message": "hi"}), args.calls
                )
                latencies[name] += lat
                rates[name].append(rate)
    if args.concurrency > 1:
        for _ in range(max(1, args.rounds // 2)):
            for name, (url, auth) in paths.items():
                parallel[name].append(await concurrent(url, auth, args.concurrency, args.calls))

    print(f"server-everything `echo`, fastmcp.Client, {args.rounds} x {args.calls} calls per path")
    print(
        f"{'path':8} {'p50 ms':>8} {'p95 ms':>8} {'calls/s':>8}"
        + (f" {'calls/s x' + str(args.concurrency):>13}" if parallel["direct"] else "")
    )
    summary = {}
    for name in paths:
        p50 = statistics.median(latencies[name]) * 1000
        p95 = percentile(latencies[name], 0.95) * 1000
        rate = statistics.median(rates[name])
        par = statistics.median(parallel[name]) if parallel[name] else 0.0
        summary[name] = (p50, rate, par)
        extra = f" {par:13.0f}" if parallel[name] else ""
        print(f"{name:8} {p50:8.2f} {p95:8.2f} {rate:8.0f}{extra}")
    (d50, drate, dpar), (g50, grate, gpar) = summary["direct"], summary["gateway"]
    print(f"p50 ratio gateway/direct: {g50 / d50:.2f}x (target <= 1.5x)")
    print(f"throughput ratio gateway/direct: {grate / drate:.2f}x (target >= 0.6x)")
    if dpar:
        print(f"concurrent throughput ratio (x{args.concurrency}): {gpar / dpar:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    import tempfile

    port = free_port()
    everything = start_everything(port)
    with tempfile.TemporaryDirectory() as state:
        gateway, base = start_gateway(f"http://127.0.0.1:{port}/mcp", Path(state))
        try:
            asyncio.run(measure(f"http://127.0.0.1:{port}/mcp", f"{base}/mcp/everything", args))
        finally:
            for process in (gateway, everything):
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
