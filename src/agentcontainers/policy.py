"""Policy: what a request may do with a persona, decided before anything runs.

A request can only narrow what the operator and the persona allow:

- tools = persona's tools ∩ ``allowed_tools`` (when given) − ``disallowed_tools``; the runtime
  makes them the only tools that exist (``--tools``), pre-approves them (``--allowedTools``)
  and denies everything else (``--permission-mode dontAsk``);
- limits (turns, budget) are the smallest of the operator's, the persona's and the request's;
- the agent's environment is built from an allowlist, never copied from the service's own.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentcontainers.agents import Agent
from agentcontainers.errors import InvalidRequest
from agentcontainers.settings import Settings

if TYPE_CHECKING:
    # Only attributes are read: the one-shot CLI computes a draft policy before pydantic loads.
    from agentcontainers.request import AgentRequest

#: Request ``env`` names refused unless the operator allows them (``AGENTCONTAINERS_ENV_ALLOW``
#: or a persona's ``env_allow``): they steer the runtime, the loader, the shell or the network.
DENIED_ENV = (
    "ANTHROPIC_*", "CLAUDE*", "AWS_*", "LD_*", "DYLD_*", "NODE_*", "PYTHON*", "PATH", "HOME",
    "SHELL", "BASH_ENV", "BASH_FUNC_*", "ENV", "*_PROXY", "*_proxy", "SSL_*", "*_HOST",
    "AGENTCONTAINERS_*", "IFS", "PS4", "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS", "GCONV_PATH",
    "GLIBC_TUNABLES", "MALLOC_*", "LOCPATH", "TMPDIR", "IS_SANDBOX", "OTEL_*", "DISABLE_*",
    "GIT_*", "npm_config_*", "NPM_CONFIG_*", "PIP_*", "UV_*", "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE", "MCP_*",
)  # fmt: skip

#: Selects MCP servers; consumed by the service, never passed to the agent.
MCP_SERVERS_KEY = "MCP_SERVERS"

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Limits:
    """The effective per-run limits."""

    max_turns: int | None
    max_budget_usd: float | None


def mcp_server_names(env: Mapping[str, str] | None) -> list[str]:
    """Names listed in ``MCP_SERVERS`` (comma separated), lower case, in order."""
    raw = (env or {}).get(MCP_SERVERS_KEY, "")
    return list(dict.fromkeys(n.strip().lower() for n in raw.split(",") if n.strip()))


def effective_tools(agent: Agent, request: AgentRequest) -> tuple[str, ...]:
    """Built-in tools the run may use: persona ∩ allowed − disallowed, in persona order."""
    allowed = set(request.allowed_tools) if request.allowed_tools is not None else None
    denied = set(request.disallowed_tools or ())
    return tuple(
        tool for tool in agent.tools if (allowed is None or tool in allowed) and tool not in denied
    )


def mcp_tool_rules(server: str, request: AgentRequest) -> list[str] | None:
    """Permission rules pre-approving the server's tools, or None if none may run.

    Without ``allowed_tools`` the whole server is allowed (``mcp__<server>``); with it, only
    the entries naming this server (``mcp__<server>`` or ``mcp__<server>__<tool>``).
    """
    prefix = f"mcp__{server}"
    if request.allowed_tools is None:
        rules = [prefix]
    else:
        rules = [t for t in request.allowed_tools if t == prefix or t.startswith(prefix + "__")]
    denied = set(request.disallowed_tools or ())
    if prefix in denied:
        return None
    return rules or None


def limits(agent: Agent, request: AgentRequest, settings: Settings) -> Limits:
    """The smallest of each limit that is set; a request can lower, never raise."""
    turns = _smallest(settings.max_turns, agent.max_turns, request.max_turns)
    return Limits(
        max_turns=None if turns is None else int(turns),
        max_budget_usd=_smallest(
            settings.max_budget_usd, agent.max_budget_usd, request.max_budget_usd
        ),
    )


def system_prompts(
    agent: Agent, request: AgentRequest, settings: Settings
) -> tuple[str | None, str | None]:
    """``(system_prompt, append_system_prompt)`` for the run.

    ``SYSTEM_PROMPT`` replaces the persona's prompt (manifest prompt and ``CLAUDE.md``); a
    persona's ``system_prompt`` replaces Claude Code's default; otherwise the persona's text
    is appended to Claude Code's default. The request's ``append_system_prompt`` always comes
    last.
    """
    extra = request.append_system_prompt
    if settings.system_prompt:
        return _join(settings.system_prompt, extra), None
    if agent.system_prompt:
        return _join(agent.system_prompt, agent.instructions, extra), None
    return None, _join(agent.append_system_prompt, agent.instructions, extra)


def request_env(agent: Agent, request: AgentRequest, settings: Settings) -> dict[str, str]:
    """The request's ``env`` that may reach the agent (``MCP_SERVERS`` removed).

    Raises:
        InvalidRequest: naming the first key the allowlist refuses.
    """
    allow = [p.strip() for p in settings.env_allow.split(",") if p.strip()]
    allow.extend(agent.env_allow)
    passed: dict[str, str] = {}
    for key, value in (request.env or {}).items():
        if key == MCP_SERVERS_KEY:
            continue
        if _matches(key, DENIED_ENV) and not _matches(key, allow):
            raise InvalidRequest(
                f"invalid request: env key '{key}' is not allowed "
                "(it would change how the agent runs; the operator can allow it with "
                "AGENTCONTAINERS_ENV_ALLOW)"
            )
        passed[key] = value
    return passed


def agent_env(
    *,
    settings: Settings,
    agent: Agent,
    request_vars: Mapping[str, str],
    home: str,
    tmpdir: str,
    config_dir: str,
) -> dict[str, str]:
    """The agent process's whole environment, built from parts, never from ``os.environ``."""
    lang = settings.environ.get("LANG") or "C.UTF-8"
    env = {
        "PATH": SAFE_PATH,
        "HOME": home,
        "LANG": lang,
        "LC_ALL": settings.environ.get("LC_ALL") or lang,
        "TMPDIR": tmpdir,
        "TERM": "dumb",
        "SHELL": "/bin/bash",
    }
    env.update(agent.env)
    env.update(request_vars)
    # Set last so neither a persona nor a request can replace them.
    env.update(runtime_env(settings, config_dir=config_dir))
    return env


def runtime_env(settings: Settings, *, config_dir: str) -> dict[str, str]:
    """Variables the Claude Code CLI itself needs: credentials, endpoint, state, quiet mode."""
    env = {
        "CLAUDE_CONFIG_DIR": config_dir,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": str(settings.model_max_retries),
        "CLAUDE_CODE_ENTRYPOINT": "sdk-py",
    }
    if settings.anthropic_api_key is not None:
        env["ANTHROPIC_API_KEY"] = settings.anthropic_api_key.get_secret_value()
    if settings.anthropic_auth_token is not None:
        env["ANTHROPIC_AUTH_TOKEN"] = settings.anthropic_auth_token.get_secret_value()
    if settings.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = settings.anthropic_base_url
    return env


def _matches(key: str, patterns: list[str] | tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


def _smallest(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _join(*parts: str | None) -> str | None:
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    return text or None
