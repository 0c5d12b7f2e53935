"""Fixtures for the HTTP service: the app in-process (ASGI) and served on a real socket, both
running the real Claude Code CLI against the dev model."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentcontainers.http.app import create_app
from agentcontainers.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"
LISTENING = "agentcontainers listening on "
KEYS = "alice:alice-key-0123456789,bob:bob-key-0123456789"
ALICE = {"Authorization": "Bearer alice-key-0123456789"}
BOB = {"Authorization": "Bearer bob-key-0123456789"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def service_env(agent_env: dict[str, str]) -> dict[str, str]:
    """The operator environment of an HTTP service on the dev model (``tester`` persona)."""
    return {**agent_env, "AGENTCONTAINERS_RECONNECT_GRACE": "0"}


@pytest.fixture
def make_client(
    service_env: dict[str, str],
) -> Callable[..., Any]:
    """``async with make_client(**env) as client``: the app in-process, lifespan included."""
    import contextlib

    @contextlib.asynccontextmanager
    async def make(**env: str) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(Settings.from_env({**service_env, **env}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", timeout=60
            ) as client:
                yield client

    return make


@dataclass
class Server:
    """``agentcontainers serve`` running in a subprocess."""

    url: str
    process: subprocess.Popen[str]
    state_dir: Path
    log: Path

    def rss_kib(self) -> int:
        """The server's resident memory."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def start_server(env: dict[str, str], log: Path, *args: str) -> Server:
    """Start ``python -m agentcontainers serve --port 0`` and wait for its URL."""
    full_env = {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "agentcontainers", "serve", "--port", "0", *args]
    with log.open("w") as err:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=err, text=True, env=full_env
        )
    assert process.stdout is not None
    line = ""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while not line and time.monotonic() < deadline and process.poll() is None:
            if selector.select(timeout=0.1):
                line = process.stdout.readline()
    if not line.startswith(LISTENING):
        stop_server(process)
        raise RuntimeError(f"serve did not start: {line!r}\n{log.read_text()}")
    # uvicorn's access log goes to stdout: keep reading it, or a full pipe stalls the server.
    drain = threading.Thread(target=_drain, args=(process.stdout, log), daemon=True)
    drain.start()
    process.drain = drain  # type: ignore[attr-defined]
    return Server(line[len(LISTENING) :].strip(), process, Path(env["STATE_DIR"]), log)


def _drain(stream: Any, log: Path) -> None:
    with stream, log.with_suffix(".access.log").open("a") as out:
        for line in stream:
            out.write(line)


def stop_server(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    drain = getattr(process, "drain", None)
    if drain is not None:
        drain.join(timeout=10)
    elif process.stdout is not None:
        process.stdout.close()


@pytest.fixture
def serve(service_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``serve(**env)``: the service on a real socket (stopped after the test)."""
    started: list[Server] = []

    def start(*args: str, **env: str) -> Server:
        server = start_server({**service_env, **env}, tmp_path / f"serve-{len(started)}.log", *args)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_server(server.process)
        assert "Traceback" not in server.log.read_text(), server.log.read_text()


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Events of a ``text/event-stream`` body: ``{"id", "event", "data"}`` (data decoded)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if "data" in fields:
            events.append(
                {
                    "id": int(fields["id"]),
                    "event": fields["event"],
                    "data": json.loads(fields["data"]),
                }
            )
    return events


def agent_processes(state_dir: Path) -> list[int]:
    """Live agent processes of ``state_dir``: ``claude`` CLIs configured there, and anything
    (tool subprocesses) working in one of its workspaces."""
    marker = str(state_dir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().split()[2] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            cwd = os.readlink(entry / "cwd")
        except (OSError, IndexError):
            continue
        in_workspace = cwd.startswith(str(state_dir))
        if in_workspace or (b"claude" in cmdline.split(b"\0")[0] and marker in environ):
            found.append(int(entry.name))
    return found


def wait_for_no_agent_processes(state_dir: Path, timeout: float = 10.0) -> list[int]:
    """Wait until no agent process of ``state_dir`` is left; returns those still there."""
    deadline = time.monotonic() + timeout
    left = agent_processes(state_dir)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = agent_processes(state_dir)
    return left
