"""The request contract (DESIGN.md, "Request"): the seed's JSON plus four optional fields.

Validation is strict: unknown fields, wrong types (no coercion of ``"5"`` to ``5``) and
malformed values are rejected with a message naming the field. Rules that depend on the
operator's configuration (the env allowlist, size limits, which agents exist) are applied by
:mod:`agentcontainers.policy`, not here.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from agentcontainers.errors import InvalidRequest

TOOL_NAME = r"^[A-Za-z][A-Za-z0-9_\-]{0,127}$"
AGENT_NAME = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
ENV_KEY = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"

ToolName = Annotated[str, StringConstraints(pattern=TOOL_NAME)]
EnvKey = Annotated[str, StringConstraints(pattern=ENV_KEY)]


def _no_nul(value: str) -> str:
    # These strings reach the agent's argv, environment or stdin, where NUL cannot go.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


#: A string that can be handed to a process.
Text = Annotated[str, AfterValidator(_no_nul)]


class AgentRequest(BaseModel):
    """One request to an agent, whatever the ingress."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    prompt: Text = Field(description="What the agent is asked to do. Required, non-empty.")
    append_system_prompt: Text | None = Field(
        default=None, description="Text appended to the persona's system prompt."
    )
    allowed_tools: list[ToolName] | None = Field(
        default=None,
        description="Whitelist: only these of the persona's tools exist for this run.",
    )
    disallowed_tools: list[ToolName] | None = Field(
        default=None, description="Blacklist: these tools do not exist for this run."
    )
    resume_session_id: str | None = Field(
        default=None, description="UUID of a session of this caller to continue."
    )
    env: dict[EnvKey, Text] | None = Field(
        default=None,
        description="Extra environment for the agent; keys must pass the allowlist. "
        "MCP_SERVERS=a,b selects MCP servers and is not passed on.",
    )
    agent: Annotated[str, StringConstraints(pattern=AGENT_NAME)] | None = Field(
        default=None, description="Persona to run (default: the operator's AGENT)."
    )
    model: Annotated[Text, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="Model for this run (default: the persona's or MODEL)."
    )
    max_turns: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        default=None, description="Lower the operator's turn limit for this run."
    )
    max_budget_usd: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        default=None, description="Lower the operator's spending limit for this run (USD)."
    )

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("resume_session_id")
    @classmethod
    def _session_is_uuid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            raise ValueError("must be a session id (a UUID)") from None
        if str(parsed) != value.lower():
            raise ValueError("must be a session id in canonical UUID form") from None
        return str(parsed)

    @property
    def mcp_server_names(self) -> list[str]:
        """Names listed in ``env.MCP_SERVERS`` (comma separated), lower case."""
        from agentcontainers.policy import mcp_server_names

        return mcp_server_names(self.env)


def parse_request(raw: str | bytes | dict[str, Any]) -> AgentRequest:
    """Parse JSON text or a decoded object into an :class:`AgentRequest`.

    Raises:
        InvalidRequest: with a message naming the offending field.
    """
    if isinstance(raw, (str, bytes)):
        # Decoded strictly, as json.loads would (UTF-8, or UTF-16/32 told by their first
        # bytes); text holding undecodable bytes as surrogate escapes (from argv) is refused
        # too: either would fail later, far from here, as an internal error.
        encoding = json.detect_encoding(raw) if isinstance(raw, bytes) else "utf-8"
        try:
            text = raw.decode(encoding) if isinstance(raw, bytes) else raw
            text.encode()
        except UnicodeError:
            shown = "UTF-8" if encoding.startswith("utf-8") else encoding.upper()
            raise InvalidRequest(f"request is not valid {shown}") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InvalidRequest(f"request is not valid JSON: {exc}") from None
    else:
        data = raw
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        raise InvalidRequest(f"request must be a JSON object, got {kind}")
    where = _lone_surrogate(data)
    if where is not None:
        # Valid JSON ("\ud800" escapes) yet not text: it cannot be sent to the agent process.
        raise InvalidRequest(
            f"invalid request: field '{where}': must be valid Unicode text "
            "(it holds a lone surrogate, such as \\ud800)"
        )
    try:
        return AgentRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None


def _lone_surrogate(value: Any, path: tuple[int | str, ...] = ()) -> str | None:
    """The location of the first string (or key) holding a lone surrogate, else None."""
    if isinstance(value, str):
        return None if _is_text(value) else _format_location(path) or "request"
    if isinstance(value, list):
        items: Any = enumerate(value)
    elif isinstance(value, dict):
        items = value.items()
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and not _is_text(key):
            shown = key.encode("utf-8", "backslashreplace").decode()
            return _format_location((*path, shown))
        found = _lone_surrogate(item, (*path, key))
        if found is not None:
            return found
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the field (``env.PATH``, ``allowed_tools[0]``)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = _format_location(error["loc"])
        kind = error["type"]
        if kind == "missing":
            parts.append(f"field '{loc}' is required")
        elif kind == "extra_forbidden":
            parts.append(f"unknown field '{loc}'")
        else:
            message = error["msg"].removeprefix("Value error, ")
            parts.append(f"field '{loc}': {message}")
    return "invalid request: " + "; ".join(parts)


def _format_location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            # dict keys validated by a pattern appear with a "[key]" suffix in pydantic's loc
            text += f".{part}"
        else:
            text = str(part)
    return re.sub(r"\.\[key\]$", "", text) or "request"
