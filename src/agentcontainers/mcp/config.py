"""Which upstream MCP servers the gateway serves, from the environment and a config file.

Environment (DESIGN.md, "MCP"): each ``${NAME}_HOST=<http(s) url>`` registers an upstream named
``name`` (lower case), with optional ``${NAME}_TOKEN`` (sent upstream as ``Authorization:
Bearer``), ``${NAME}_HEADERS`` (a JSON object, or ``Header: value`` lines), ``${NAME}_TRANSPORT``
(``http``, the default, or ``sse``; a URL ending in ``/sse`` means SSE) and ``${NAME}_TIMEOUT``
(seconds per call). Values that are not http(s) URLs (``DOCKER_HOST=unix://...``,
``REDIS_HOST=localhost``) are not MCP servers and are ignored.

Config file (``--config`` or ``AGENTCONTAINERS_MCP_CONFIG``), JSON in Claude Code's shape::

    {"mcpServers": {
        "files": {"command": "npx",
                  "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]},
        "crm": {"url": "https://crm.example/mcp",
                "headers": {"Authorization": "Bearer ${CRM_KEY}"}}},
     "personas": {"reviewer": {"allow": ["mcp__files__read_*"], "deny": ["mcp__crm"]}}}

``${VAR}`` in strings is replaced from the environment, so secrets stay out of the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentcontainers.errors import ConfigError

Transport = Literal["http", "sse", "stdio", "memory"]

ASSISTANT = "assistant"
"""Name of the built-in memory server (todos, notes, preferences, backgrounds)."""

DEFAULT_CALL_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0
STDIO_CONNECT_TIMEOUT = 30.0
"""A stdio server is a process to start (``npx`` may even download it) before it can answer."""

_HOST_VARIABLE = re.compile(r"^([A-Z0-9][A-Z0-9_]*?)_HOST$")
_SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class UpstreamConfig:
    """How to reach one upstream MCP server.

    ``headers`` are sent to the upstream only (they hold its credentials); they never reach
    the agent. ``repr`` hides their values.
    """

    name: str
    transport: Transport
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = field(default=None, repr=False)
    cwd: str | None = None
    timeout: float = DEFAULT_CALL_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT


@dataclass(frozen=True)
class PersonaRules:
    """Tool patterns a persona may (``allow``; ``None`` = all) and may not (``deny``) use."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway serves: upstreams and per-persona tool rules."""

    upstreams: Mapping[str, UpstreamConfig]
    personas: Mapping[str, PersonaRules] = field(default_factory=dict)
    audit_arguments: bool = False


def valid_server_name(name: str) -> bool:
    """Whether ``name`` can name a server (lower case letters, digits, ``_``, ``-``)."""
    return bool(_SERVER_NAME.match(name))


def _float(value: str, variable: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{variable} must be a number of seconds, not {value!r}") from None
    if not number > 0:
        raise ConfigError(f"{variable} must be positive, not {value!r}")
    return number


def parse_headers(value: str, variable: str) -> dict[str, str]:
    """Parse ``${NAME}_HEADERS``: a JSON object, or ``Header: value`` lines.

    Raises:
        ConfigError: The value is neither, naming ``variable``.
    """
    text = value.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{variable} is not valid JSON: {exc.msg}") from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
            raise ConfigError(f"{variable} must map header names to string values")
        return dict(loaded)
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, header_value = line.partition(":")
        if not sep or not name.strip():
            raise ConfigError(
                f"{variable} must be a JSON object or 'Header: value' lines; got {line!r}"
            )
        headers[name.strip()] = header_value.strip()
    return headers


def upstreams_from_environ(
    environ: Mapping[str, str], *, default_timeout: float = DEFAULT_CALL_TIMEOUT
) -> dict[str, UpstreamConfig]:
    """The upstreams that ``${NAME}_HOST`` variables register.

    Raises:
        ConfigError: A companion variable (``_HEADERS``, ``_TRANSPORT``, ``_TIMEOUT``) is bad.
    """
    found: dict[str, UpstreamConfig] = {}
    for variable, value in sorted(environ.items()):
        match = _HOST_VARIABLE.match(variable)
        if not match or variable.startswith("AGENTCONTAINERS_"):
            continue
        url = value.strip()
        if not url.startswith(("http://", "https://")):
            continue
        prefix = match.group(1)
        name = prefix.lower()
        if not valid_server_name(name):
            raise ConfigError(f"{variable}: {name!r} is not a valid MCP server name")
        headers = parse_headers(environ.get(f"{prefix}_HEADERS", ""), f"{prefix}_HEADERS")
        token = environ.get(f"{prefix}_TOKEN", "").strip()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        transport = environ.get(f"{prefix}_TRANSPORT", "").strip().lower()
        if not transport:
            transport = "sse" if url.rstrip("/").endswith("/sse") else "http"
        if transport not in ("http", "sse"):
            raise ConfigError(f"{prefix}_TRANSPORT must be 'http' or 'sse', not {transport!r}")
        timeout_text = environ.get(f"{prefix}_TIMEOUT", "").strip()
        timeout = _float(timeout_text, f"{prefix}_TIMEOUT") if timeout_text else default_timeout
        found[name] = UpstreamConfig(
            name=name,
            transport="http" if transport == "http" else "sse",
            url=url,
            headers=headers,
            timeout=timeout,
        )
    return found


def _expand(value: Any, environ: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable not in environ:
                raise ConfigError(f"{where} refers to ${{{variable}}}, which is not set")
            return environ[variable]

        return _REFERENCE.sub(replace, value)
    if isinstance(value, list):
        return [_expand(item, environ, where) for item in value]
    if isinstance(value, dict):
        return {key: _expand(item, environ, where) for key, item in value.items()}
    return value


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(f"{where} must be an object of strings")
    return dict(value)


def _upstream_from_entry(
    name: str, entry: Any, environ: Mapping[str, str], default_timeout: float
) -> UpstreamConfig:
    where = f"mcpServers.{name}"
    if not valid_server_name(name):
        raise ConfigError(f"{where}: {name!r} is not a valid MCP server name (use a-z, 0-9, _ -)")
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object")
    entry = _expand(entry, environ, where)
    known = {"command", "args", "env", "cwd", "url", "type", "transport", "headers", "timeout"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    timeout = entry.get("timeout", default_timeout)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{where}.timeout must be a positive number of seconds")
    kind = str(entry.get("transport") or entry.get("type") or "").lower()
    if "command" in entry:
        command, args = entry["command"], entry.get("args", [])
        if not isinstance(command, str) or not command:
            raise ConfigError(f"{where}.command must be a non-empty string")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ConfigError(f"{where}.args must be a list of strings")
        if kind not in ("", "stdio"):
            raise ConfigError(f"{where}: a 'command' server speaks stdio, not {kind!r}")
        return UpstreamConfig(
            name=name,
            transport="stdio",
            command=command,
            args=tuple(args),
            env=_string_map(entry.get("env"), f"{where}.env") or None,
            cwd=entry.get("cwd"),
            timeout=float(timeout),
            connect_timeout=STDIO_CONNECT_TIMEOUT,
        )
    url = entry.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where} needs a 'command' or an http(s) 'url'")
    if kind in ("", "http", "streamable-http", "streamable_http", "streamablehttp"):
        transport: Transport = "sse" if not kind and url.rstrip("/").endswith("/sse") else "http"
    elif kind == "sse":
        transport = "sse"
    else:
        raise ConfigError(f"{where}.transport must be 'http' or 'sse', not {kind!r}")
    return UpstreamConfig(
        name=name,
        transport=transport,
        url=url,
        headers=_string_map(entry.get("headers"), f"{where}.headers"),
        timeout=float(timeout),
    )


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise ConfigError(f"{where} must be a list of tool names or patterns")
    return tuple(value)


def load_config_file(
    path: Path, environ: Mapping[str, str], *, default_timeout: float = DEFAULT_CALL_TIMEOUT
) -> tuple[dict[str, UpstreamConfig], dict[str, PersonaRules]]:
    """Read the gateway's JSON config file: upstreams (``mcpServers``) and ``personas`` rules.

    Raises:
        ConfigError: The file is missing, not JSON, or has a bad entry (named in the message).
    """
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read MCP config {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"MCP config {path} is not valid JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"MCP config {path} must be a JSON object")
    unknown = sorted(set(raw) - {"mcpServers", "personas"})
    if unknown:
        raise ConfigError(f"MCP config {path}: unknown field(s) {', '.join(unknown)}")
    servers = raw.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise ConfigError(f"MCP config {path}: mcpServers must be an object")
    upstreams = {
        name: _upstream_from_entry(name, entry, environ, default_timeout)
        for name, entry in servers.items()
    }
    personas: dict[str, PersonaRules] = {}
    for persona, rules in (raw.get("personas") or {}).items():
        where = f"personas.{persona}"
        if not isinstance(rules, dict) or set(rules) - {"allow", "deny"}:
            raise ConfigError(f"{where} must be an object with 'allow' and/or 'deny'")
        allow = _patterns(rules["allow"], f"{where}.allow") if "allow" in rules else None
        deny = _patterns(rules.get("deny", []), f"{where}.deny")
        personas[persona] = PersonaRules(allow=allow, deny=deny)
    return upstreams, personas


def gateway_config(
    environ: Mapping[str, str], config_file: Path | None = None, *, builtin_assistant: bool = True
) -> GatewayConfig:
    """The gateway's configuration from an environment and an optional config file.

    The file defaults to ``AGENTCONTAINERS_MCP_CONFIG``; the built-in ``assistant`` server is
    included unless an upstream of that name replaces it. Call timeouts default to
    ``AGENTCONTAINERS_MCP_TIMEOUT`` seconds (60).

    Raises:
        ConfigError: Bad variables or file, or a name registered twice.
    """
    timeout_text = environ.get("AGENTCONTAINERS_MCP_TIMEOUT", "").strip()
    timeout = (
        _float(timeout_text, "AGENTCONTAINERS_MCP_TIMEOUT")
        if timeout_text
        else DEFAULT_CALL_TIMEOUT
    )
    upstreams = upstreams_from_environ(environ, default_timeout=timeout)
    personas: dict[str, PersonaRules] = {}
    path = config_file
    if path is None and environ.get("AGENTCONTAINERS_MCP_CONFIG", "").strip():
        path = Path(environ["AGENTCONTAINERS_MCP_CONFIG"].strip())
    if path is not None:
        from_file, personas = load_config_file(path, environ, default_timeout=timeout)
        both = sorted(set(from_file) & set(upstreams))
        if both:
            raise ConfigError(
                f"MCP server(s) {', '.join(both)} defined both by a *_HOST variable and in {path}"
            )
        upstreams.update(from_file)
    if builtin_assistant and ASSISTANT not in upstreams:
        upstreams[ASSISTANT] = UpstreamConfig(name=ASSISTANT, transport="memory", timeout=timeout)
    audit_arguments = environ.get("AGENTCONTAINERS_MCP_AUDIT_ARGS", "").strip().lower()
    return GatewayConfig(
        upstreams=dict(sorted(upstreams.items())),
        personas=personas,
        audit_arguments=audit_arguments in ("1", "true", "yes", "on"),
    )
