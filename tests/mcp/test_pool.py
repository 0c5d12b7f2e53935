"""A pooled upstream over an in-process server: relaying, list caching, changes, timeouts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from agentcontainers.mcp.base import Kind, UpstreamRejected, UpstreamTimeout
from agentcontainers.mcp.config import UpstreamConfig
from agentcontainers.mcp.pool import PooledUpstream, connection_factory
from tests.fixtures.mcp import serve_app
from tests.mcp.sample import build_sample_server

pytestmark = pytest.mark.anyio


def memory_upstream(
    name: str = "sample", *, timeout: float = 10, ttl: float = 60
) -> PooledUpstream:
    config = UpstreamConfig(name=name, transport="memory", timeout=timeout)
    factory = connection_factory(config, memory_server=build_sample_server(name))
    return PooledUpstream(config, factory, list_ttl=ttl)


@pytest.fixture
async def upstream() -> AsyncIterator[PooledUpstream]:
    async with memory_upstream() as pooled:
        yield pooled


async def test_lists_every_kind_as_wire_dicts(upstream: PooledUpstream) -> None:
    tools = {tool["name"]: tool for tool in await upstream.list("tools")}
    assert {"add", "fail", "slow", "grow"} <= set(tools)
    assert tools["add"]["inputSchema"]["properties"]["a"]["type"] == "integer"
    assert [r["uri"] for r in await upstream.list("resources")] == ["data://greeting"]
    assert [t["uriTemplate"] for t in await upstream.list("resourceTemplates")] == [
        "data://items/{item}"
    ]
    assert [p["name"] for p in await upstream.list("prompts")] == ["hello"]
    assert upstream.instructions == "The sample server, for tests."


async def test_relays_calls_reads_and_prompts(upstream: PooledUpstream) -> None:
    result = await upstream.request("tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}})
    assert result["content"][0]["text"] == "5"
    failed = await upstream.request(
        "tools/call", {"name": "fail", "arguments": {"message": "boom"}}
    )
    assert failed["isError"] is True and "boom" in failed["content"][0]["text"]
    read = await upstream.request("resources/read", {"uri": "data://items/7"})
    assert read["contents"][0]["text"] == "item 7"
    prompt = await upstream.request(
        "prompts/get", {"name": "hello", "arguments": {"person": "Ana"}}
    )
    assert "Ana" in prompt["messages"][0]["content"]["text"]


async def test_protocol_errors_are_relayed_with_their_code(upstream: PooledUpstream) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.request("prompts/get", {"name": "nope", "arguments": {}})
    assert caught.value.code != 0 and "nope" in str(caught.value)


async def test_a_list_change_upstream_drops_the_cache_and_tells_listeners(
    upstream: PooledUpstream,
) -> None:
    heard: list[Kind] = []
    upstream.on_change(heard.append)
    assert "extra" not in {tool["name"] for tool in await upstream.list("tools")}
    await upstream.request("tools/call", {"name": "grow", "arguments": {"tool_name": "extra"}})
    assert heard == ["tools"]
    assert "extra" in {tool["name"] for tool in await upstream.list("tools")}


async def test_each_call_is_bounded_by_the_upstream_timeout() -> None:
    async with memory_upstream(timeout=0.3) as upstream:
        with pytest.raises(UpstreamTimeout, match=r"did not answer tools/call within 0\.3 s"):
            await upstream.request("tools/call", {"name": "slow", "arguments": {"seconds": 5}})
        result = await upstream.request(
            "tools/call", {"name": "add", "arguments": {"a": 1, "b": 1}}
        )
        assert result["content"][0]["text"] == "2"


class _RestartingServer:
    """An MCP server over streamable HTTP that can "restart": after :meth:`restart` a new
    session manager answers, which knows nothing of the sessions the old one handed out. It
    offers no GET stream, so only the next call can find out (HTTP 404 on an unknown session)."""

    def __init__(self) -> None:
        self.apps = [build_sample_server("a").http_app(path="/mcp") for _ in range(2)]
        self.current = 0

    def restart(self) -> None:
        self.current = 1

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            async with contextlib.AsyncExitStack() as stack:
                for app in self.apps:
                    await stack.enter_async_context(app.router.lifespan_context(app))
                await receive()
                await send({"type": "lifespan.startup.complete"})
                await receive()
                await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "http" and scope["method"] == "GET":
            await send({"type": "http.response.start", "status": 405, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.apps[self.current](scope, receive, send)


async def test_an_expired_session_is_initialised_again_on_the_next_call() -> None:
    server = _RestartingServer()
    async with serve_app(server) as base:
        config = UpstreamConfig(name="a", transport="http", url=f"{base}/mcp", timeout=5)
        async with PooledUpstream(config) as pooled:
            add = {"name": "add", "arguments": {"a": 1, "b": 2}}
            first = await pooled.request("tools/call", add)
            assert first["content"][0]["text"] == "3"
            server.restart()  # our session id is now unknown upstream
            again = await pooled.request("tools/call", add)
            assert again["content"][0]["text"] == "3"
