"""``agentcontainers mcp-proxy`` refuses unsafe or broken setups before serving anything."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from agentcontainers.cli import mcp_proxy


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    mcp_proxy.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_to_loopback() -> None:
    args = parse()
    assert (args.host, args.port) == ("127.0.0.1", 8390)


def test_a_public_bind_without_a_token_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert mcp_proxy.main(parse("--host", "0.0.0.0")) == 2
    assert "refusing to bind 0.0.0.0 without AGENTCONTAINERS_MCP_TOKEN" in capsys.readouterr().err


def test_a_bad_config_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mcp.json"
    config.write_text('{"mcpServers": {"x": {"url": "ftp://nope"}}}')
    assert mcp_proxy.main(parse("--config", str(config))) == 2
    assert "mcpServers.x needs a 'command' or an http(s) 'url'" in capsys.readouterr().err


def test_a_bad_host_variable_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CRM_HOST", "https://crm.example/mcp")
    monkeypatch.setenv("CRM_TIMEOUT", "soon")
    assert mcp_proxy.main(parse()) == 2
    assert "CRM_TIMEOUT must be a number" in capsys.readouterr().err


def test_persona_rules_without_a_token_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mcp.json"
    config.write_text('{"personas": {"reviewer": {"deny": ["mcp__assistant"]}}}')
    assert mcp_proxy.main(parse("--config", str(config))) == 2
    assert "'personas' rules need AGENTCONTAINERS_MCP_TOKEN" in capsys.readouterr().err
