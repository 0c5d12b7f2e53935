"""The operator's configuration, read once from the environment at the edge.

Library code takes a :class:`Settings` (or plain arguments) and never reads ``os.environ``.
Every variable is listed in the README's configuration table.

This is a plain pydantic model filled by :meth:`Settings.from_env`, not a
``pydantic_settings.BaseSettings``: we never use its sources (``.env`` files, secrets dirs),
and importing it costs about 0.1 s that every one-shot run and Lambda cold start would pay.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


def _default_state_dir() -> Path:
    mounted = Path("/mnt/state")
    if mounted.is_dir() and os.access(mounted, os.W_OK):
        return mounted
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "agentcontainers"


class Settings(BaseModel):
    """All operator settings. Field aliases are the environment variable names."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    # --- model credentials and endpoint (passed to the agent process, never logged)
    anthropic_api_key: SecretStr | None = Field(default=None, alias="ANTHROPIC_API_KEY")
    anthropic_auth_token: SecretStr | None = Field(default=None, alias="ANTHROPIC_AUTH_TOKEN")
    anthropic_base_url: str | None = Field(default=None, alias="ANTHROPIC_BASE_URL")

    # --- the seed's variables
    lambda_mode: bool = Field(default=False, alias="LAMBDA")
    max_turns: int | None = Field(default=None, alias="MAX_TURNS", ge=1)
    model: str | None = Field(default=None, alias="MODEL")
    system_prompt: str | None = Field(default=None, alias="SYSTEM_PROMPT")
    fs_shim: bool = Field(default=True, alias="FS_SHIM")
    state_dir: Path = Field(default_factory=_default_state_dir, alias="STATE_DIR")
    agent: str = Field(default="assistant", alias="AGENT")
    agents_path: str = Field(default="", alias="AGENTS_PATH")

    # --- this project's limits and knobs
    max_budget_usd: float | None = Field(default=None, alias="AGENTCONTAINERS_MAX_BUDGET_USD", gt=0)
    run_timeout_s: float = Field(default=600.0, alias="AGENTCONTAINERS_RUN_TIMEOUT", gt=0)
    max_prompt_bytes: int = Field(default=256_000, alias="AGENTCONTAINERS_MAX_PROMPT_BYTES", gt=0)
    model_max_retries: int = Field(default=2, alias="AGENTCONTAINERS_MODEL_MAX_RETRIES", ge=0)
    env_allow: str = Field(
        default="",
        alias="AGENTCONTAINERS_ENV_ALLOW",
        description="Comma-separated extra env names (or PREFIX_*) requests may set even "
        "though the default denylist covers them.",
    )
    cli_path: str | None = Field(default=None, alias="AGENTCONTAINERS_CLI_PATH")
    api_keys: SecretStr | None = Field(default=None, alias="AGENTCONTAINERS_API_KEYS")
    mcp_gateway_url: str | None = Field(default=None, alias="AGENTCONTAINERS_MCP_URL")
    mcp_gateway_token: SecretStr | None = Field(default=None, alias="AGENTCONTAINERS_MCP_TOKEN")

    # --- the HTTP service (and Lambda's size limit)
    max_body_bytes: int = Field(default=1_048_576, alias="AGENTCONTAINERS_MAX_BODY_BYTES", gt=0)
    max_concurrent_runs: int = Field(
        default=20,
        alias="AGENTCONTAINERS_MAX_CONCURRENT_RUNS",
        ge=1,
        description="Runs one caller (API key) may have going at once; more answer 429.",
    )
    webhook_secret: SecretStr | None = Field(default=None, alias="AGENTCONTAINERS_WEBHOOK_SECRET")
    webhook_allow: str = Field(
        default="",
        alias="AGENTCONTAINERS_WEBHOOK_ALLOW",
        description="Comma-separated hosts or CIDRs webhooks may target although they are "
        "private, loopback or link-local (refused by default).",
    )
    run_retention_s: float = Field(default=3600.0, alias="AGENTCONTAINERS_RUN_RETENTION", gt=0)
    reconnect_grace_s: float = Field(
        default=10.0,
        alias="AGENTCONTAINERS_RECONNECT_GRACE",
        ge=0,
        description="Seconds a streamed run goes on without a client, waiting for a reconnect "
        "with Last-Event-ID, before it is cancelled.",
    )

    # The raw environment, for the variables whose names are data (``${NAME}_HOST``).
    environ: Mapping[str, str] = Field(default_factory=dict, exclude=True)

    @field_validator("max_turns", "max_budget_usd", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: the process environment)."""
        env = dict(os.environ if environ is None else environ)
        known = {f.alias for f in cls.model_fields.values() if f.alias}
        values = {key: value for key, value in env.items() if key in known}
        return cls.model_validate({**values, "environ": env})

    @property
    def agents_dirs(self) -> list[Path]:
        """Directories from ``AGENTS_PATH`` (``os.pathsep`` separated)."""
        return [Path(p) for p in self.agents_path.split(os.pathsep) if p.strip()]
