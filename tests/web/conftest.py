"""Fixtures for the web UI tests: a real ``agentcontainers serve`` (the real Claude Code CLI
against the dev model) and Debian's Chromium driven by Playwright.

Chromium comes from ``scripts/system-deps.sh`` (apt); Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "web"
STARTUP_TIMEOUT = 60.0
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``agentcontainers serve``."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    api_key: str | None = None

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the API as the test (with the key when the server has one)."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def sessions(self) -> list[dict[str, Any]]:
        """The caller's sessions, as ``GET /v1/sessions`` lists them."""
        response = self.api("GET", "/v1/sessions")
        response.raise_for_status()
        sessions: list[dict[str, Any]] = response.json()["sessions"]
        return sessions

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(env: dict[str, str], log: Path, *args: str, api_key: str | None = None) -> Server:
    """Start ``python -m agentcontainers serve`` on a free port and wait for ``/healthz``."""
    port = free_port()
    command = [sys.executable, "-m", "agentcontainers", "serve", "--port", str(port), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", process, log, api_key)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}:\n{server.logs()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"serve did not answer /healthz in {STARTUP_TIMEOUT} s:\n{server.logs()}")


def stop_server(server: Server) -> None:
    """Stop the server and every process it started (the CLI runs in its process group)."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, 9)
            server.process.wait(timeout=5)


@pytest.fixture
def serve_env(agent_env: dict[str, str]) -> dict[str, str]:
    """The operator environment of the served service (dev model, test personas)."""
    return {**agent_env, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def server(serve_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    """A real ``agentcontainers serve`` without API keys (loopback development mode)."""
    running = start_server(serve_env, tmp_path / "serve.log")
    yield running
    stop_server(running)


@pytest.fixture
def start_serve(serve_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start a server with extra environment (e.g. API keys); stopped after the test."""
    started: list[Server] = []

    def start(api_key: str | None = None, **env: str) -> Server:
        log = tmp_path / f"serve-{len(started)}.log"
        running = start_server({**serve_env, **env}, log, api_key=api_key)
        started.append(running)
        return running

    yield start
    for running in started:
        stop_server(running)


# --- browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, launched once per test module. Playwright's sync API keeps an event
    loop of its own; closing it with the module keeps it away from other tests' loops."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: run scripts/system-deps.sh (make system-deps)")
        pytest.skip("Chromium is missing: run scripts/system-deps.sh (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Console:
    """What a page reported: console errors, uncaught exceptions, dialogs."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def unexpected(self, allowed: tuple[str, ...] = ()) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in allowed)]


@dataclass
class Browsing:
    """A browser context with its first page and what it reported."""

    context: Any
    page: Any
    console: Console
    allowed_errors: list[str] = field(default_factory=list)

    def new_page(self) -> Any:
        page = self.context.new_page()
        watch(page, self.console)
        return page


def watch(page: Any, console: Console) -> None:
    page.on(
        "console",
        lambda message: (
            console.errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: console.errors.append(f"pageerror: {error}"))

    def on_dialog(dialog: Any) -> None:
        console.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)


@pytest.fixture
def open_browser(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Browsing]]:
    """Open a browser context (desktop by default); after the test, assert it logged no
    console error and no uncaught exception, and opened no dialog."""
    opened: list[Browsing] = []

    def open_(viewport: dict[str, int] = DESKTOP, **options: Any) -> Browsing:
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(30_000)
        console = Console()
        page = context.new_page()
        watch(page, console)
        browsing = Browsing(context, page, console)
        opened.append(browsing)
        return browsing

    yield open_
    failed = request.node.stash.get(_FAILED, False)
    for browsing in opened:
        if failed:
            _save_failure(browsing, request.node.name)
        browsing.context.close()
    for browsing in opened:
        errors = browsing.console.unexpected(tuple(browsing.allowed_errors))
        assert not errors, "the page logged errors:\n" + "\n".join(errors)
        assert not browsing.console.dialogs, f"the page opened dialogs: {browsing.console.dialogs}"


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


def _save_failure(browsing: Browsing, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for number, page in enumerate(browsing.context.pages):
        # The page may be gone; the test's own failure is what matters.
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}-{number}.png"), full_page=True)


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of a main view under ``artifacts/web/``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # finished transitions: a card opened just before is shown open, not half-turned
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path
