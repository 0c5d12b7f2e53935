"""Policy: a request only narrows; the agent's environment is built from an allowlist."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcontainers.agents import Agent
from agentcontainers.errors import InvalidRequest
from agentcontainers.policy import agent_env, effective_tools, limits, request_env, system_prompts
from agentcontainers.request import parse_request
from agentcontainers.settings import Settings

AGENT = Agent(
    name="p",
    description="",
    path=Path("/nonexistent"),
    instructions="INSTR",
    tools=("Bash", "Read", "Write"),
    max_turns=10,
    env={"FROM_PERSONA": "1", "PATH": "/persona/bin"},
)


def req(**fields):
    return parse_request({"prompt": "x", **fields})


def test_tools_are_persona_intersect_allowed_minus_disallowed():
    assert effective_tools(AGENT, req()) == ("Bash", "Read", "Write")
    assert effective_tools(AGENT, req(allowed_tools=["Read", "WebFetch"])) == ("Read",)
    assert effective_tools(AGENT, req(disallowed_tools=["Bash"])) == ("Read", "Write")
    assert effective_tools(AGENT, req(allowed_tools=[])) == ()


def test_limits_only_lower():
    settings = Settings.from_env({"MAX_TURNS": "5", "AGENTCONTAINERS_MAX_BUDGET_USD": "2"})
    assert limits(AGENT, req(), settings).max_turns == 5
    assert limits(AGENT, req(max_turns=50), settings).max_turns == 5
    assert limits(AGENT, req(max_turns=2), settings).max_turns == 2
    assert limits(AGENT, req(max_budget_usd=9.0), settings).max_budget_usd == 2
    assert limits(AGENT, req(), Settings.from_env({})).max_turns == 10


@pytest.mark.parametrize(
    "key", ["ANTHROPIC_API_KEY", "LD_PRELOAD", "PATH", "HOME", "HTTPS_PROXY", "http_proxy",
            "AWS_SECRET_ACCESS_KEY", "NODE_OPTIONS", "PYTHONPATH", "CLAUDE_CODE_X", "BASH_ENV",
            "X_HOST", "AGENTCONTAINERS_API_KEYS", "SSL_CERT_FILE"],
)  # fmt: skip
def test_denied_request_env(key):
    with pytest.raises(InvalidRequest, match=key):
        request_env(AGENT, req(env={key: "x"}), Settings.from_env({}))


def test_operator_can_allow_a_denied_name():
    settings = Settings.from_env({"AGENTCONTAINERS_ENV_ALLOW": "GIT_AUTHOR_*"})
    assert request_env(AGENT, req(env={"GIT_AUTHOR_NAME": "a"}), settings) == {
        "GIT_AUTHOR_NAME": "a"
    }


def test_agent_env_is_built_not_inherited():
    settings = Settings.from_env(
        {"ANTHROPIC_API_KEY": "sk-test", "SLACK_BOT_TOKEN": "secret", "PATH": "/evil"}
    )
    env = agent_env(
        settings=settings,
        agent=AGENT,
        request_vars=request_env(AGENT, req(env={"CUSTOM": "v", "MCP_SERVERS": "a"}), settings),
        home="/h",
        tmpdir="/t",
        config_dir="/c",
    )
    assert env["CUSTOM"] == "v" and env["FROM_PERSONA"] == "1"
    assert "MCP_SERVERS" not in env and "SLACK_BOT_TOKEN" not in env
    assert env["ANTHROPIC_API_KEY"] == "sk-test" and env["CLAUDE_CONFIG_DIR"] == "/c"
    assert env["HOME"] == "/h" and env["TMPDIR"] == "/t"


def test_system_prompt_layers():
    settings = Settings.from_env({})
    assert system_prompts(AGENT, req(append_system_prompt="REQ"), settings) == (
        None,
        "INSTR\n\nREQ",
    )
    replaced = Settings.from_env({"SYSTEM_PROMPT": "OP"})
    assert system_prompts(AGENT, req(append_system_prompt="REQ"), replaced) == ("OP\n\nREQ", None)


def test_settings_name_the_bad_variable_and_hide_secrets():
    from agentcontainers.errors import ConfigError

    with pytest.raises(ConfigError, match="AGENTCONTAINERS_RUN_TIMEOUT"):
        Settings.from_env({"AGENTCONTAINERS_RUN_TIMEOUT": "-1"})
    with pytest.raises(ConfigError, match="FS_SHIM"):
        Settings.from_env({"FS_SHIM": "perhaps"})
    settings = Settings.from_env(
        {"ANTHROPIC_API_KEY": "sk-secret-1", "FS_SHIM": "0", "LAMBDA": "true"}
    )
    assert "sk-secret-1" not in repr(settings)
    assert settings.fs_shim is False and settings.lambda_mode is True
    assert settings.anthropic_api_key.get_secret_value() == "sk-secret-1"
