"""McpWiring: which names are known, what the agent's MCP config holds, which gateway it uses."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agentcontainers.errors import ConfigError, InvalidRequest
from agentcontainers.mcp.policy import verify_token
from agentcontainers.mcp.wiring import McpWiring, known_servers, parse_server_names
from agentcontainers.settings import Settings

pytestmark = pytest.mark.anyio


def settings(tmp_path: Path, **environ: str) -> Settings:
    return Settings.from_env({"STATE_DIR": str(tmp_path / "state"), **environ})


def test_known_servers_are_the_host_variables_and_the_assistant(tmp_path: Path) -> None:
    known = known_servers(settings(tmp_path, GITHUB_HOST="https://gh.example/mcp"))
    assert known == {"github", "assistant"}


def test_server_names_are_cleaned() -> None:
    assert parse_server_names(" Everything, ,assistant,everything") == ["everything", "assistant"]


async def test_an_unknown_name_is_an_invalid_request_naming_the_known_ones(tmp_path: Path) -> None:
    async with McpWiring(settings(tmp_path, GITHUB_HOST="https://gh.example/mcp")) as wiring:
        with pytest.raises(InvalidRequest) as caught:
            await wiring.servers_for(["github", "jira"], persona="assistant")
        assert caught.value.message == (
            "unknown MCP server 'jira' in MCP_SERVERS; known: assistant, github"
        )
        assert await wiring.servers_for([], persona="assistant") == {}
        assert wiring.gateway_url is None  # nothing was started for that


async def test_an_external_gateway_gets_scoped_tokens_signed_with_its_token(tmp_path: Path) -> None:
    configured = settings(
        tmp_path,
        GITHUB_HOST="https://gh.example/mcp",
        AGENTCONTAINERS_MCP_URL="http://gateway.internal:8390/mcp",
        AGENTCONTAINERS_MCP_TOKEN="operator-token",
    )
    async with McpWiring(configured) as wiring:
        servers = await wiring.servers_for(
            ["github"],
            persona="reviewer",
            allow=["mcp__github__get_*"],
            deny=["mcp__github__get_secret"],
        )
    assert servers["github"]["type"] == "http"
    assert servers["github"]["url"] == "http://gateway.internal:8390/mcp/github"
    authorization = servers["github"]["headers"]["Authorization"]
    assert "operator-token" not in authorization
    grant = verify_token("operator-token", authorization.removeprefix("Bearer "))
    assert grant is not None and grant.persona == "reviewer"
    assert grant.allows_tool("github", "get_issue")
    assert not grant.allows_tool("github", "get_secret")
    assert not grant.reaches("assistant")


async def test_an_external_gateway_without_a_token_cannot_enforce_rules(tmp_path: Path) -> None:
    configured = settings(tmp_path, AGENTCONTAINERS_MCP_URL="http://127.0.0.1:8390")
    async with McpWiring(configured) as wiring:
        plain = await wiring.servers_for(["assistant"], persona="assistant")
        assert plain == {
            "assistant": {"type": "http", "url": "http://127.0.0.1:8390/mcp/assistant"}
        }
        with pytest.raises(ConfigError, match="cannot enforce"):
            await wiring.servers_for(["assistant"], persona="assistant", deny=["mcp__assistant"])


@pytest.mark.e2e
async def test_the_embedded_gateway_serves_the_config_it_hands_out(tmp_path: Path) -> None:
    async with McpWiring(settings(tmp_path)) as wiring:
        servers = await wiring.servers_for(
            ["assistant"], persona="assistant", deny=["mcp__assistant__delete_*"]
        )
        entry = servers["assistant"]
        assert entry["url"].startswith("http://127.0.0.1:")
        async with (
            httpx2.AsyncClient(headers=entry["headers"]) as http,
            Client(streamable_http_client(entry["url"], http_client=http), mode="legacy") as client,
        ):
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert "create_todo" in names and "delete_todo" not in names
        async with httpx2.AsyncClient() as http:
            refused = await http.post(entry["url"], json={})
            assert refused.status_code == 401


async def test_a_config_handed_out_before_the_gateway_serves_reaches_it_once_it_does(
    tmp_path: Path,
) -> None:
    """``wait=False`` answers while the embedded gateway still loads; a client connecting then
    waits for it rather than failing, and the same scope gets the same token (equal configs)."""
    async with McpWiring(settings(tmp_path)) as wiring:
        early = await wiring.servers_for(["assistant"], persona="assistant", wait=False)
        entry = early["assistant"]
        async with (
            httpx2.AsyncClient(headers=entry["headers"]) as http,
            Client(streamable_http_client(entry["url"], http_client=http), mode="legacy") as client,
        ):
            names = {tool.name for tool in (await client.list_tools()).tools}
        assert "create_todo" in names
        assert await wiring.servers_for(["assistant"], persona="assistant") == early


async def test_a_long_lived_service_starts_loading_its_default_personas_gateway(
    tmp_path: Path,
) -> None:
    from agentcontainers.service import AgentService

    async with AgentService(settings(tmp_path, AGENT="assistant")) as service:
        assert service.mcp.gateway_url is not None
        await service.mcp.start()  # serving, or raising why not
    async with AgentService(settings(tmp_path, AGENT="plain")) as service:
        assert service.mcp.gateway_url is None
