"""Upstream kinds and credentials over real sockets: a token-protected streamable-HTTP server,
an SSE server and a stdio server behind the gateway, and list changes reaching clients."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest

from tests.fixtures.mcp import GATEWAY_TOKEN, ROOT, GatewayProcess, serve_app
from tests.mcp.sample import build_sample_server
from tests.mcp.test_everything_e2e import connect, until

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

UPSTREAM_TOKEN = "upstream-secret"


class RecordAuthorization:
    """ASGI middleware: remembers each request's ``Authorization`` and requires the upstream's."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[str | None] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            authorization = headers.get(b"authorization")
            self.seen.append(authorization.decode() if authorization else None)
            if authorization != f"Bearer {UPSTREAM_TOKEN}".encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


async def start_off_loop(
    start_gateway: Callable[..., GatewayProcess], env: dict[str, str], *args: str
) -> GatewayProcess:
    """Start a gateway without blocking this loop, which serves its in-process upstream."""
    return await anyio.to_thread.run_sync(lambda: start_gateway(env, *args))


async def stop_off_loop(gateway: GatewayProcess) -> None:
    await anyio.to_thread.run_sync(gateway.stop)


@pytest.fixture
async def protected_upstream() -> AsyncIterator[tuple[str, RecordAuthorization]]:
    app = RecordAuthorization(build_sample_server("crm").http_app(path="/mcp"))
    async with serve_app(app) as base:
        yield f"{base}/mcp", app


async def test_upstream_credentials_are_injected_and_the_callers_never_forwarded(
    protected_upstream: tuple[str, RecordAuthorization],
    start_gateway: Callable[..., GatewayProcess],
) -> None:
    url, recorder = protected_upstream
    gateway = await start_off_loop(
        start_gateway,
        {"CRM_HOST": url, "CRM_TOKEN": UPSTREAM_TOKEN, "CRM_HEADERS": '{"X-Tenant": "home"}'},
    )
    async with connect(gateway.endpoint("crm"), GATEWAY_TOKEN) as client:
        result = await client.call_tool("add", {"a": 20, "b": 22})
    assert result.content[0].text == "42"  # type: ignore[union-attr]
    assert recorder.seen and set(recorder.seen) == {f"Bearer {UPSTREAM_TOKEN}"}
    assert GATEWAY_TOKEN not in gateway.log.read_text()
    await stop_off_loop(gateway)


async def test_sse_and_stdio_upstreams(
    start_gateway: Callable[..., GatewayProcess], tmp_path: Path
) -> None:
    config = tmp_path / "mcp.json"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from tests.mcp.sample import build_sample_server; "
        "build_sample_server('local', can_exit=True).run(show_banner=False)"
    )
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "local": {
                        "command": sys.executable,
                        "args": ["-c", script, str(ROOT)],
                        "env": {"PYTHONPATH": str(ROOT / "src")},
                    }
                }
            }
        )
    )
    sse_app = build_sample_server("legacy").http_app(path="/sse", transport="sse")
    async with serve_app(sse_app) as base:
        gateway = await start_off_loop(
            start_gateway, {"LEGACY_HOST": f"{base}/sse"}, "--config", str(config)
        )
        async with connect(gateway.endpoint(), GATEWAY_TOKEN) as client:

            async def listed() -> bool:
                names = {tool.name for tool in (await client.list_tools()).tools}
                return {"legacy_add", "local_add"} <= names

            assert await until(listed, timeout=60), "the SSE and stdio servers were not listed"
            for name in ("legacy_add", "local_add"):
                result = await client.call_tool(name, {"a": 1, "b": 2})
                assert result.content[0].text == "3"  # type: ignore[union-attr]
            read = await client.read_resource("data://local/items/5")
            assert read.contents[0].text == "item 5"  # type: ignore[union-attr]

            # A stdio server that dies is started again.
            crashed = await client.call_tool("local_exit_process", {})
            assert crashed.is_error

            async def restarted() -> bool:
                result = await client.call_tool("local_add", {"a": 2, "b": 2})
                return not result.is_error and result.content[0].text == "4"  # type: ignore[union-attr]

            assert await until(restarted, timeout=60), "the stdio server was not restarted"
        await stop_off_loop(gateway)  # let go of the SSE stream before its server stops


async def test_a_list_change_upstream_reaches_connected_clients(
    start_gateway: Callable[..., GatewayProcess],
) -> None:
    heard = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            heard.set()

    async with serve_app(build_sample_server("dyn").http_app(path="/mcp")) as base:
        gateway = await start_off_loop(start_gateway, {"DYN_HOST": f"{base}/mcp"})
        async with connect(gateway.endpoint("dyn"), GATEWAY_TOKEN) as client:
            client.session._message_handler = on_message
            await client.list_tools()
            async with connect(gateway.endpoint("dyn"), GATEWAY_TOKEN) as other:
                await other.call_tool("grow", {"tool_name": "sprout"})
            with anyio.fail_after(10):
                await heard.wait()
            assert "sprout" in {tool.name for tool in (await client.list_tools()).tools}
        await stop_off_loop(gateway)
