"""Which upstreams the environment and the config file register, and how bad input is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcontainers.errors import ConfigError
from agentcontainers.mcp.config import (
    ASSISTANT,
    gateway_config,
    load_config_file,
    parse_headers,
    upstreams_from_environ,
)


def test_host_variables_register_lower_case_upstreams_with_their_credentials() -> None:
    upstreams = upstreams_from_environ(
        {
            "EVERYTHING_HOST": "http://127.0.0.1:3001/mcp",
            "EVERYTHING_TOKEN": "up-secret",
            "EVERYTHING_HEADERS": '{"X-Tenant": "home"}',
            "GITHUB_HOST": "https://api.example/mcp",
            "GITHUB_TIMEOUT": "5",
        }
    )
    assert set(upstreams) == {"everything", "github"}
    everything = upstreams["everything"]
    assert everything.transport == "http"
    assert everything.url == "http://127.0.0.1:3001/mcp"
    assert everything.headers == {"X-Tenant": "home", "Authorization": "Bearer up-secret"}
    assert upstreams["github"].timeout == 5.0
    assert "up-secret" not in repr(everything)


def test_non_url_host_variables_are_not_mcp_servers() -> None:
    environ = {
        "DOCKER_HOST": "unix:///var/run/docker.sock",
        "REDIS_HOST": "localhost",
        "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        "AGENTCONTAINERS_MCP_HOST": "http://127.0.0.1:1/mcp",
        "HOST": "http://example.com",
    }
    assert upstreams_from_environ(environ) == {}


def test_sse_is_chosen_by_url_or_variable() -> None:
    upstreams = upstreams_from_environ(
        {
            "OLD_HOST": "http://127.0.0.1:1/sse",
            "LEGACY_HOST": "http://127.0.0.1:2/events",
            "LEGACY_TRANSPORT": "SSE",
        }
    )
    assert upstreams["old"].transport == "sse"
    assert upstreams["legacy"].transport == "sse"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("X_HEADERS", "{not json", "X_HEADERS is not valid JSON"),
        ("X_HEADERS", "no colon here", "X_HEADERS must be a JSON object"),
        ("X_TRANSPORT", "websocket", "X_TRANSPORT must be 'http' or 'sse'"),
        ("X_TIMEOUT", "soon", "X_TIMEOUT must be a number"),
        ("X_TIMEOUT", "0", "X_TIMEOUT must be positive"),
    ],
)
def test_bad_companion_variables_are_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        upstreams_from_environ({"X_HOST": "http://127.0.0.1:1/mcp", variable: value})


def test_header_lines() -> None:
    assert parse_headers("X-A: 1\n\nX-B:two words", "V") == {"X-A": "1", "X-B": "two words"}


@given(st.text(max_size=200))
def test_parse_headers_returns_strings_or_names_the_variable(text: str) -> None:
    try:
        headers = parse_headers(text, "SOME_HEADERS")
    except ConfigError as exc:
        assert "SOME_HEADERS" in exc.message
    else:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())


def test_config_file_adds_stdio_and_remote_servers_and_persona_rules(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "files": {"command": "npx", "args": ["-y", "srv"], "env": {"K": "${SECRET}"}},
                    "crm": {"url": "https://crm.example/mcp", "headers": {"X-Key": "${SECRET}"}},
                    "old": {"url": "https://old.example/sse", "transport": "sse", "timeout": 3},
                },
                "personas": {"assistant": {"allow": ["mcp__files__*"], "deny": ["mcp__crm"]}},
            }
        )
    )
    upstreams, personas = load_config_file(path, {"SECRET": "s3"})
    assert upstreams["files"].transport == "stdio"
    assert upstreams["files"].command == "npx"
    assert upstreams["files"].args == ("-y", "srv")
    assert upstreams["files"].env == {"K": "s3"}
    assert upstreams["crm"].headers == {"X-Key": "s3"}
    assert upstreams["old"].transport == "sse"
    assert upstreams["old"].timeout == 3
    assert personas["assistant"].allow == ("mcp__files__*",)
    assert personas["assistant"].deny == ("mcp__crm",)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"servers": {}}', "unknown field"),
        ('{"mcpServers": {"Bad Name": {"command": "x"}}}', "not a valid MCP server name"),
        ('{"mcpServers": {"x": {"command": ""}}}', "command must be a non-empty string"),
        ('{"mcpServers": {"x": {"url": "ftp://h"}}}', "needs a 'command' or an http"),
        ('{"mcpServers": {"x": {"command": "a", "args": "b"}}}', "args must be a list"),
        ('{"mcpServers": {"x": {"command": "a", "env": {"K": "${NOPE}"}}}}', r"\$\{NOPE\}"),
        ('{"mcpServers": {"x": {"command": "a", "bogus": 1}}}', "unknown field"),
        ('{"personas": {"p": {"allow": "mcp__x"}}}', "personas.p.allow must be a list"),
    ],
)
def test_bad_config_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config_file(path, {})


def test_gateway_config_includes_the_builtin_assistant_and_refuses_duplicates(
    tmp_path: Path,
) -> None:
    config = gateway_config({"EVERYTHING_HOST": "http://127.0.0.1:1/mcp"})
    assert list(config.upstreams) == [ASSISTANT, "everything"]
    assert config.upstreams[ASSISTANT].transport == "memory"

    path = tmp_path / "mcp.json"
    path.write_text('{"mcpServers": {"everything": {"command": "x"}}}')
    with pytest.raises(ConfigError, match="both by a \\*_HOST variable and in"):
        gateway_config(
            {"EVERYTHING_HOST": "http://127.0.0.1:1/mcp", "AGENTCONTAINERS_MCP_CONFIG": str(path)}
        )


def test_an_assistant_host_replaces_the_builtin_server() -> None:
    config = gateway_config({"ASSISTANT_HOST": "http://memory.internal/mcp"})
    assert config.upstreams[ASSISTANT].transport == "http"


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read MCP config"):
        gateway_config({"AGENTCONTAINERS_MCP_CONFIG": str(tmp_path / "absent.json")})


def test_default_timeout_and_audit_arguments() -> None:
    config = gateway_config(
        {
            "X_HOST": "http://127.0.0.1:1/mcp",
            "AGENTCONTAINERS_MCP_TIMEOUT": "7.5",
            "AGENTCONTAINERS_MCP_AUDIT_ARGS": "1",
        }
    )
    assert config.upstreams["x"].timeout == 7.5
    assert config.audit_arguments is True
