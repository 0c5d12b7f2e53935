"""The operator's configuration, read once from the environment at the edge.

Library code takes a :class:`Settings` (or plain arguments) and never reads ``os.environ``.
Every variable is listed in the README's configuration table.

This is a frozen dataclass filled by :meth:`Settings.from_env`, not a pydantic model: the
one-shot CLI starts the agent process before anything imports pydantic (about 0.2 s that
would otherwise delay every run and Lambda cold start), and settings are needed for that.
A bad value is a :class:`~agentcontainers.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcontainers.errors import ConfigError


class Secret:
    """A string that never shows itself in ``repr`` or logs (pydantic ``SecretStr``-like)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _default_state_dir() -> Path:
    mounted = Path("/mnt/state")
    if mounted.is_dir() and os.access(mounted, os.W_OK):
        return mounted
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "agentcontainers"


def _env(name: str, parse: Callable[[str], Any] = str, default: Any = None) -> Any:
    """A field read from variable ``name``; an empty value means unset."""
    return field(default=default, metadata={"env": name, "parse": parse})


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false (1/0, yes/no, on/off)")


def _number(kind: type, minimum: float, *, strict: bool = False) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text.strip())
        except ValueError:
            raise ValueError(f"must be a {'whole ' if kind is int else ''}number") from None
        if value < minimum or (strict and value == minimum):
            raise ValueError(f"must be {'greater than' if strict else 'at least'} {minimum:g}")
        return value

    return parse


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


_SECRET = Secret
_POSITIVE_INT = _number(int, 1)
_POSITIVE = _number(float, 0, strict=True)


@dataclass(frozen=True)
class Settings:
    """All operator settings; each field's ``env`` metadata names its variable."""

    # --- model credentials and endpoint (passed to the agent process, never logged)
    anthropic_api_key: Secret | None = _env("ANTHROPIC_API_KEY", _SECRET)
    anthropic_auth_token: Secret | None = _env("ANTHROPIC_AUTH_TOKEN", _SECRET)
    anthropic_base_url: str | None = _env("ANTHROPIC_BASE_URL")

    # --- the seed's variables
    lambda_mode: bool = _env("LAMBDA", _bool, False)
    max_turns: int | None = _env("MAX_TURNS", _POSITIVE_INT)
    model: str | None = _env("MODEL")
    system_prompt: str | None = _env("SYSTEM_PROMPT")
    fs_shim: bool = _env("FS_SHIM", _bool, True)
    state_dir: Path = field(
        default_factory=_default_state_dir, metadata={"env": "STATE_DIR", "parse": Path}
    )
    agent: str = _env("AGENT", str, "assistant")
    agents_path: str = _env("AGENTS_PATH", str, "")

    # --- this project's limits and knobs
    max_budget_usd: float | None = _env("AGENTCONTAINERS_MAX_BUDGET_USD", _POSITIVE)
    run_timeout_s: float = _env("AGENTCONTAINERS_RUN_TIMEOUT", _POSITIVE, 600.0)
    max_prompt_bytes: int = _env("AGENTCONTAINERS_MAX_PROMPT_BYTES", _POSITIVE_INT, 256_000)
    model_max_retries: int = _env("AGENTCONTAINERS_MODEL_MAX_RETRIES", _number(int, 0), 2)
    #: Comma-separated extra env names (or PREFIX_*) requests may set despite the denylist.
    env_allow: str = _env("AGENTCONTAINERS_ENV_ALLOW", str, "")
    cli_path: str | None = _env("AGENTCONTAINERS_CLI_PATH")
    #: ``auto`` (bubblewrap when it works here), ``bwrap`` (required) or ``none``.
    sandbox: str = _env("AGENTCONTAINERS_SANDBOX", _choice("auto", "bwrap", "none"), "auto")
    api_keys: Secret | None = _env("AGENTCONTAINERS_API_KEYS", _SECRET)
    mcp_gateway_url: str | None = _env("AGENTCONTAINERS_MCP_URL")
    mcp_gateway_token: Secret | None = _env("AGENTCONTAINERS_MCP_TOKEN", _SECRET)
    #: PostgreSQL for session metadata and usage (replicas share it); SQLite under STATE_DIR
    #: when unset.
    database_url: Secret | None = _env("AGENTCONTAINERS_DATABASE_URL", _SECRET)

    # --- the HTTP service (and Lambda's size limit)
    max_body_bytes: int = _env("AGENTCONTAINERS_MAX_BODY_BYTES", _POSITIVE_INT, 1_048_576)
    #: Runs one caller (API key) may have going at once; more answer 429.
    max_concurrent_runs: int = _env("AGENTCONTAINERS_MAX_CONCURRENT_RUNS", _POSITIVE_INT, 20)
    webhook_secret: Secret | None = _env("AGENTCONTAINERS_WEBHOOK_SECRET", _SECRET)
    #: Hosts or CIDRs webhooks may target although private, loopback or link-local.
    webhook_allow: str = _env("AGENTCONTAINERS_WEBHOOK_ALLOW", str, "")
    run_retention_s: float = _env("AGENTCONTAINERS_RUN_RETENTION", _POSITIVE, 3600.0)
    #: Seconds a streamed run goes on without a client, waiting for a reconnect.
    reconnect_grace_s: float = _env("AGENTCONTAINERS_RECONNECT_GRACE", _number(float, 0), 10.0)

    # The raw environment, for the variables whose names are data (``${NAME}_HOST``).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: the process environment).

        Raises:
            ConfigError: naming the variable whose value is invalid.
        """
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {"environ": env}
        for spec in dataclasses.fields(cls):
            name = spec.metadata.get("env")
            raw = env.get(name, "") if name else ""
            if not raw.strip():
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw)
            except ValueError as exc:
                shown = "(hidden)" if spec.metadata["parse"] is _SECRET else repr(raw[:40])
                raise ConfigError(f"{name} {exc}, got {shown}") from None
        return cls(**values)

    @property
    def agents_dirs(self) -> list[Path]:
        """Directories from ``AGENTS_PATH`` (``os.pathsep`` separated)."""
        return [Path(p) for p in self.agents_path.split(os.pathsep) if p.strip()]

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)
