"""The gateway in front of a real upstream nobody here wrote: server-everything (npm), over
real sockets. What a client sees through ``/mcp/everything`` and ``/mcp`` must be what a
direct connection sees; faults in the upstream must stay contained and heal."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.fixtures.mcp import GATEWAY_TOKEN, GatewayProcess, NodeMcpServer

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@asynccontextmanager
async def connect(url: str, token: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        yield client


def dump(model: Any) -> Any:
    """A result as comparable data: wire JSON without the per-server ``_meta`` stamps."""
    data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("_meta", None)
    return data


async def inventory(client: Client) -> dict[str, Any]:
    return {
        "tools": {t.name: dump(t) for t in (await client.list_tools()).tools},
        "resources": {str(r.uri): dump(r) for r in (await client.list_resources()).resources},
        "templates": {
            t.uri_template: dump(t)
            for t in (await client.list_resource_templates()).resource_templates
        },
        "prompts": {p.name: dump(p) for p in (await client.list_prompts()).prompts},
    }


async def test_everything_is_listed_through_both_endpoints_with_the_right_names(
    everything_upstream: NodeMcpServer, gateway: GatewayProcess
) -> None:
    async with connect(everything_upstream.url) as direct:
        expected = await inventory(direct)
    assert "echo" in expected["tools"] and expected["resources"] and expected["prompts"]

    async with connect(gateway.endpoint("everything"), GATEWAY_TOKEN) as client:
        assert await inventory(client) == expected

    async with connect(gateway.endpoint(), GATEWAY_TOKEN) as client:
        merged = await inventory(client)
    ours = {name: tool for name, tool in merged["tools"].items() if name.startswith("everything_")}
    assert set(ours) == {f"everything_{name}" for name in expected["tools"]}
    assert ours["everything_echo"]["inputSchema"] == expected["tools"]["echo"]["inputSchema"]
    assert any(name.startswith("assistant_") for name in merged["tools"])
    assert set(merged["prompts"]) == {f"everything_{name}" for name in expected["prompts"]}
    assert set(merged["resources"]) == {
        uri.replace("://", "://everything/", 1) for uri in expected["resources"]
    }
    assert set(merged["templates"]) == {
        uri.replace("://", "://everything/", 1) for uri in expected["templates"]
    }


async def test_calls_reads_and_prompts_return_what_a_direct_connection_returns(
    everything_upstream: NodeMcpServer, gateway: GatewayProcess
) -> None:
    calls = [
        ("echo", {"message": "hello through the gateway"}),
        ("get-sum", {"a": 2, "b": 40}),
        ("get-tiny-image", {}),
        ("get-structured-content", {"location": "New York"}),
        ("get-annotated-message", {"messageType": "error", "includeImage": True}),
    ]
    prompts = [("simple-prompt", None), ("args-prompt", {"city": "Lisbon", "state": "PT"})]
    async with connect(everything_upstream.url) as direct:
        resource = str((await direct.list_resources()).resources[0].uri)
        expected_calls = [dump(await direct.call_tool(name, args)) for name, args in calls]
        expected_read = dump(await direct.read_resource(resource))
        expected_prompts = [dump(await direct.get_prompt(name, args)) for name, args in prompts]

    async with connect(gateway.endpoint("everything"), GATEWAY_TOKEN) as client:
        assert [dump(await client.call_tool(name, args)) for name, args in calls] == expected_calls
        assert dump(await client.read_resource(resource)) == expected_read
        assert [
            dump(await client.get_prompt(name, args)) for name, args in prompts
        ] == expected_prompts

    async with connect(gateway.endpoint(), GATEWAY_TOKEN) as client:
        through = [dump(await client.call_tool(f"everything_{name}", args)) for name, args in calls]
        assert through == expected_calls
        namespaced = resource.replace("://", "://everything/", 1)
        read = dump(await client.read_resource(namespaced))
        assert read["contents"][0]["text"] == expected_read["contents"][0]["text"]
        assert read["contents"][0]["uri"] == namespaced
        got = [dump(await client.get_prompt(f"everything_{n}", a)) for n, a in prompts]
        assert got == expected_prompts


async def until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll the async ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = await check()
        if outcome or time.monotonic() > deadline:
            return outcome
        await anyio.sleep(0.25)


async def test_an_upstream_down_killed_and_restarted_is_contained_and_recovers(
    start_everything: Callable[..., NodeMcpServer],
    start_gateway: Callable[..., GatewayProcess],
) -> None:
    upstream = start_everything(started=False)
    gateway = start_gateway({"EVERYTHING_HOST": upstream.url})

    async def echo(client: Client) -> Any:
        return await client.call_tool("echo", {"message": "ping"})

    async with (
        connect(gateway.endpoint("everything"), GATEWAY_TOKEN) as everything,
        connect(gateway.endpoint("assistant"), GATEWAY_TOKEN) as assistant,
        connect(gateway.endpoint(), GATEWAY_TOKEN) as merged,
    ):
        # Down at start: a clear tool error, and the other upstreams are unaffected.
        down = await echo(everything)
        assert down.is_error
        assert "MCP server 'everything' is unavailable" in down.content[0].text  # type: ignore[union-attr]
        assert not (await assistant.call_tool("create_todo", {"title": "still here"})).is_error
        names = {tool.name for tool in (await merged.list_tools()).tools}
        assert "assistant_create_todo" in names and "everything_echo" not in names

        upstream.start()

        async def healthy() -> bool:
            return not (await echo(everything)).is_error

        assert await until(healthy), "the gateway did not reconnect after the upstream started"
        assert "everything_echo" in {t.name for t in (await merged.list_tools()).tools}

        # Killed mid-session: errors meanwhile, the others unaffected.
        upstream.kill()
        broken = await echo(everything)
        assert broken.is_error and "everything" in broken.content[0].text  # type: ignore[union-attr]
        assert not (await assistant.call_tool("list_todos", {})).is_error

        # Restarted (it forgot our session): recovered without restarting the gateway.
        upstream.start()
        assert await until(healthy), "the gateway did not recover after the upstream restarted"
        result = await echo(everything)
        assert result.content[0].text == "Echo: ping"  # type: ignore[union-attr]
    assert gateway.process.poll() is None


def test_a_wrong_gateway_token_is_401(gateway: GatewayProcess) -> None:
    for headers in ({"Authorization": "Bearer not-the-token"}, {}):
        response = httpx.post(
            gateway.endpoint("everything"),
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={**headers, "Accept": "application/json, text/event-stream"},
        )
        assert response.status_code == 401


async def test_a_denied_tool_is_neither_listed_nor_callable(gateway: GatewayProcess) -> None:
    from agentcontainers.mcp.policy import issue_token

    token = issue_token(
        GATEWAY_TOKEN, persona="clarice", servers=["everything"], deny=["mcp__everything__get-env"]
    )
    async with connect(gateway.endpoint("everything"), token) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "get-env" not in names and "echo" in names
        with pytest.raises(Exception, match="Unknown tool: get-env"):
            await client.call_tool("get-env", {})
        assert not (await client.call_tool("echo", {"message": "ok"})).is_error


async def test_with_sse_responses_upstream_progress_reaches_the_caller(
    everything_upstream: NodeMcpServer, start_gateway: Callable[..., GatewayProcess]
) -> None:
    gateway = start_gateway({"EVERYTHING_HOST": everything_upstream.url}, "--sse-responses")
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with connect(gateway.endpoint("everything"), GATEWAY_TOKEN) as client:
        result = await client.call_tool(
            "trigger-long-running-operation",
            {"duration": 1, "steps": 4},
            progress_callback=on_progress,
        )
    assert not result.is_error
    assert progress == [1, 2, 3, 4]
