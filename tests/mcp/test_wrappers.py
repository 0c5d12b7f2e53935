"""The small wrappers that make a caller's view: namespacing, filtering, merging, auditing."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentcontainers.mcp.aggregate import AggregateBackend
from agentcontainers.mcp.audit import AuditedBackend
from agentcontainers.mcp.base import Backend, UnknownComponent, UpstreamRejected
from agentcontainers.mcp.config import UpstreamConfig
from agentcontainers.mcp.filtered import FilteredBackend
from agentcontainers.mcp.pool import PooledUpstream
from agentcontainers.mcp.prefixed import PrefixedBackend
from tests.fixtures.mcp import free_port
from tests.mcp.test_pool import memory_upstream

pytestmark = pytest.mark.anyio


@pytest.fixture
async def alpha() -> AsyncIterator[PooledUpstream]:
    async with memory_upstream("alpha") as upstream:
        yield upstream


@pytest.fixture
async def beta() -> AsyncIterator[PooledUpstream]:
    async with memory_upstream("beta") as upstream:
        yield upstream


async def test_prefixed_names_and_uris_round_trip(alpha: PooledUpstream) -> None:
    prefixed = PrefixedBackend(alpha)
    assert "alpha_add" in {tool["name"] for tool in await prefixed.list("tools")}
    assert [p["name"] for p in await prefixed.list("prompts")] == ["alpha_hello"]
    assert [r["uri"] for r in await prefixed.list("resources")] == ["data://alpha/greeting"]
    assert [t["uriTemplate"] for t in await prefixed.list("resourceTemplates")] == [
        "data://alpha/items/{item}"
    ]

    called = await prefixed.request(
        "tools/call", {"name": "alpha_add", "arguments": {"a": 1, "b": 2}}
    )
    assert called["content"][0]["text"] == "3"
    read = await prefixed.request("resources/read", {"uri": "data://alpha/items/4"})
    assert read["contents"][0]["text"] == "item 4"
    assert read["contents"][0]["uri"] == "data://alpha/items/4"
    with pytest.raises(UnknownComponent, match="Unknown tool: add"):
        await prefixed.request("tools/call", {"name": "add", "arguments": {}})
    with pytest.raises(UnknownComponent):
        await prefixed.request("resources/read", {"uri": "data://greeting"})


async def test_filtered_tools_are_neither_listed_nor_callable(alpha: PooledUpstream) -> None:
    filtered = FilteredBackend(alpha, lambda tool: tool != "add")
    assert "add" not in {tool["name"] for tool in await filtered.list("tools")}
    with pytest.raises(UnknownComponent, match="Unknown tool: add"):
        await filtered.request("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}})
    assert [p["name"] for p in await filtered.list("prompts")] == ["hello"]


async def test_aggregate_routes_by_prefix_and_survives_a_dead_member(
    alpha: PooledUpstream, beta: PooledUpstream
) -> None:
    dead_config = UpstreamConfig(
        name="dead", transport="http", url=f"http://127.0.0.1:{free_port()}/mcp", connect_timeout=2
    )
    async with PooledUpstream(dead_config) as dead:
        merged = AggregateBackend([PrefixedBackend(b) for b in (alpha, beta, dead)])
        names = {tool["name"] for tool in await merged.list("tools")}
        assert {"alpha_add", "beta_add"} <= names
        assert not any(name.startswith("dead_") for name in names)
        result = await merged.request(
            "tools/call", {"name": "beta_add", "arguments": {"a": 2, "b": 2}}
        )
        assert result["content"][0]["text"] == "4"
        prompt = await merged.request(
            "prompts/get", {"name": "alpha_hello", "arguments": {"person": "Bo"}}
        )
        assert "Bo" in prompt["messages"][0]["content"]["text"]
        with pytest.raises(UnknownComponent, match="Unknown tool: gamma_add"):
            await merged.request("tools/call", {"name": "gamma_add", "arguments": {}})


async def test_longest_prefix_wins(alpha: PooledUpstream, beta: PooledUpstream) -> None:
    merged = AggregateBackend([PrefixedBackend(alpha, "a"), PrefixedBackend(beta, "a_b")])
    result = await merged.request("tools/call", {"name": "a_b_add", "arguments": {"a": 5, "b": 5}})
    assert result["content"][0]["text"] == "10"


async def test_audit_records_calls_without_argument_values(
    alpha: PooledUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    audited = AuditedBackend(FilteredBackend(alpha, lambda tool: tool != "fail"), persona="clarice")
    with caplog.at_level(logging.INFO, logger="agentcontainers.mcp.audit"):
        await audited.request("tools/call", {"name": "add", "arguments": {"a": 40, "b": 2}})
        with pytest.raises(UnknownComponent):
            await audited.request("tools/call", {"name": "fail", "arguments": {"message": "x"}})
    records = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "agentcontainers.mcp.audit"
    ]
    assert [(r["name"], r["outcome"], r["persona"]) for r in records] == [
        ("add", "ok", "clarice"),
        ("fail", "denied", "clarice"),
    ]
    assert all(r["server"] == "alpha" and r["duration_ms"] >= 0 for r in records)
    assert "arguments" not in records[0] and "40" not in caplog.text


class _QuotingUpstream(Backend):
    """An upstream whose errors quote the arguments back, as validation errors often do."""

    name = "quoting"

    async def list(self, kind: Any) -> list[dict[str, Any]]:
        return []

    async def request(self, method: str, params: dict[str, Any], *, notify: Any = None) -> Any:
        raise UpstreamRejected(-32602, f"invalid value {params['arguments']['a']!r} for 'a'")


@pytest.mark.parametrize("arguments", [False, True], ids=["default", "with-arguments"])
async def test_audit_keeps_an_upstreams_error_text_out_with_the_arguments(
    caplog: pytest.LogCaptureFixture, arguments: bool
) -> None:
    audited = AuditedBackend(_QuotingUpstream(), persona=None, arguments=arguments)
    with (
        caplog.at_level(logging.INFO, logger="agentcontainers.mcp.audit"),
        pytest.raises(UpstreamRejected),
    ):
        await audited.request("tools/call", {"name": "add", "arguments": {"a": "private-77"}})
    record = json.loads(caplog.records[-1].getMessage())
    assert record["outcome"] == "rejected"
    assert ("private-77" in caplog.text) is arguments, caplog.text


async def test_audit_can_include_arguments(
    alpha: PooledUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    audited = AuditedBackend(alpha, persona=None, arguments=True)
    with caplog.at_level(logging.INFO, logger="agentcontainers.mcp.audit"):
        failed = await audited.request(
            "tools/call", {"name": "fail", "arguments": {"message": "m"}}
        )
    assert failed["isError"]
    record = json.loads(caplog.records[-1].getMessage())
    assert record["arguments"] == {"message": "m"} and record["outcome"] == "tool_error"
