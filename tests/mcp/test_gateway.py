"""The gateway app in-process (``httpx2.ASGITransport``): routes, auth, grants, both eras."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from agentcontainers.mcp.config import UpstreamConfig, gateway_config
from agentcontainers.mcp.gateway import Gateway
from agentcontainers.mcp.policy import issue_token
from tests.mcp.sample import build_sample_server

pytestmark = pytest.mark.anyio

TOKEN = "gw-token"
BASE = "http://127.0.0.1:8390"

Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    config = gateway_config({})
    upstreams = {
        **config.upstreams,
        "alpha": UpstreamConfig(name="alpha", transport="memory"),
        "beta": UpstreamConfig(name="beta", transport="memory"),
    }
    app = Gateway(
        type(config)(upstreams=upstreams),
        token=TOKEN,
        assistant_db=tmp_path / "assistant.db",
        memory_servers={"alpha": build_sample_server("alpha"), "beta": build_sample_server("beta")},
    )
    async with app:
        yield app


def http(app: Gateway, token: str | None = TOKEN, **headers: str) -> httpx2.AsyncClient:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url=BASE, headers=headers)


@pytest.fixture
def connect(gateway: Gateway) -> Connect:
    @asynccontextmanager
    async def open_client(
        path: str, token: str | None = TOKEN, mode: str = "legacy"
    ) -> AsyncIterator[Client]:
        async with http(gateway, token) as client:
            transport = streamable_http_client(f"{BASE}{path}", http_client=client)
            async with Client(transport, mode=mode) as mcp_client:
                yield mcp_client

    return open_client


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_each_server_at_its_own_path_with_its_own_names(connect: Connect, mode: str) -> None:
    async with connect("/mcp/alpha", mode=mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"add", "grow", "slow"} <= names
        result = await client.call_tool("add", {"a": 2, "b": 5})
        assert result.content[0].text == "7"  # type: ignore[union-attr]
        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["hello"]
        read = await client.read_resource("data://greeting")
        assert read.contents[0].text == "hello"  # type: ignore[union-attr]
        assert client.session.instructions == "The alpha server, for tests."


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_all_servers_at_mcp_with_prefixes(connect: Connect, mode: str) -> None:
    async with connect("/mcp", mode=mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"alpha_add", "beta_add", "assistant_create_todo"} <= names
        result = await client.call_tool("beta_add", {"a": 1, "b": 1})
        assert result.content[0].text == "2"  # type: ignore[union-attr]
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert uris == {"data://alpha/greeting", "data://beta/greeting"}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        assert templates == {"data://alpha/items/{item}", "data://beta/items/{item}"}
        read = await client.read_resource("data://beta/items/9")
        assert read.contents[0].text == "item 9"  # type: ignore[union-attr]
        prompt = await client.get_prompt("alpha_hello", {"person": "Ana"})
        assert "Ana" in prompt.messages[0].content.text  # type: ignore[union-attr]


async def test_unknown_tools_are_protocol_errors(connect: Connect) -> None:
    async with connect("/mcp") as client:
        with pytest.raises(MCPError, match="Unknown tool: nope_add"):
            await client.call_tool("nope_add", {})


async def test_an_upstream_timeout_is_a_tool_error_not_a_hang(tmp_path: Path) -> None:
    config = type(gateway_config({}))(
        upstreams={"alpha": UpstreamConfig(name="alpha", transport="memory", timeout=0.3)}
    )
    app = Gateway(config, token=TOKEN, memory_servers={"alpha": build_sample_server("alpha")})
    async with app, http(app) as client:
        transport = streamable_http_client(f"{BASE}/mcp/alpha", http_client=client)
        async with Client(transport, mode="legacy") as mcp_client:
            result = await mcp_client.call_tool("slow", {"seconds": 5})
            assert result.is_error
            assert "did not answer tools/call within 0.3 s" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (None, 401),
        ("wrong", 401),
        (issue_token("other-secret", persona="p", servers=["alpha"]), 401),
    ],
)
async def test_requests_without_a_valid_token_are_refused(
    gateway: Gateway, token: str | None, status: int
) -> None:
    async with http(gateway, token) as client:
        response = await client.post("/mcp/alpha", json={})
    assert response.status_code == status
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_routes(gateway: Gateway) -> None:
    async with http(gateway) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        unknown = await client.post("/mcp/nope", json={})
        assert unknown.status_code == 404
        assert "unknown MCP server 'nope'; known: alpha, assistant, beta" in unknown.text
        assert (await client.get("/elsewhere")).status_code == 404


async def test_dns_rebinding_is_refused(gateway: Gateway) -> None:
    async with http(gateway, Host="evil.example:8390") as client:
        assert (await client.post("/mcp/alpha", json={})).status_code == 421
    async with http(gateway, Origin="http://evil.example") as client:
        assert (await client.post("/mcp/alpha", json={})).status_code == 403
    async with http(gateway, Origin="http://localhost:3000") as client:
        assert (await client.post("/mcp/alpha", json={})).status_code != 403


async def test_a_scoped_token_reaches_only_its_servers_and_tools(
    gateway: Gateway, connect: Connect
) -> None:
    token = gateway.issue_token("clarice", ["alpha"], allow=None, deny=["mcp__alpha__add"])
    async with http(gateway, token) as client:
        assert (await client.post("/mcp/beta", json={})).status_code == 403
    async with connect("/mcp/alpha", token=token) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "add" not in names and "grow" in names
        with pytest.raises(MCPError, match="Unknown tool: add"):
            await client.call_tool("add", {"a": 1, "b": 2})
    async with connect("/mcp", token=token) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "alpha_grow" in names
        assert not any(
            name.startswith(("beta_", "assistant_")) or name == "alpha_add" for name in names
        )
        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool("alpha_add", {"a": 1, "b": 2})


async def test_an_allow_list_limits_tools_to_its_patterns(
    gateway: Gateway, connect: Connect
) -> None:
    token = gateway.issue_token(
        "clarice", ["alpha", "assistant"], allow=["mcp__alpha__add", "mcp__assistant__list_*"]
    )
    async with connect("/mcp", token=token) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert names == {
        "alpha_add",
        "assistant_list_todos",
        "assistant_list_notes",
        "assistant_list_preferences",
        "assistant_list_backgrounds",
    }


async def test_a_changed_tool_list_is_seen_at_once(connect: Connect) -> None:
    async with connect("/mcp/alpha") as client:
        await client.list_tools()
        await client.call_tool("grow", {"tool_name": "fresh"})
        assert "fresh" in {tool.name for tool in (await client.list_tools()).tools}
    async with connect("/mcp") as client:
        assert "alpha_fresh" in {tool.name for tool in (await client.list_tools()).tools}
