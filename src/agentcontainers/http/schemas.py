"""What the HTTP API sends and takes, as OpenAPI schemas (documentation and contract tests).

Request bodies are parsed by :func:`agentcontainers.request.parse_request`, whose strict rules
and field-naming messages are the contract; these models only describe them. Responses built
by the service are described loosely (``extra`` allowed) where the Claude Code result object
passes through.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentcontainers.request import AgentRequest


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorInfo(BaseModel):
    """Why a request or run failed."""

    code: str = Field(description="Stable error code: invalid_request, unauthorized, ...")
    message: str


class ResultBody(_Open):
    """The Claude Code result object passed through, plus ``agent``; errors have its shape."""

    type: str = "result"
    subtype: str
    is_error: bool
    duration_ms: int | float | None = None
    duration_api_ms: int | float | None = None
    num_turns: int | None = None
    result: str | None = None
    session_id: str | None = None
    total_cost_usd: float | None = None
    usage: dict[str, Any] | None = None
    agent: str | None = None
    error: ErrorInfo | None = Field(default=None, description="Present on errors.")


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Readiness, with one entry per check (``ok`` or what is wrong)."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


class Login(BaseModel):
    """Who the cookie authenticates."""

    caller: str


class AgentSummary(_Open):
    """A persona."""

    name: str
    description: str
    model: str | None = None
    tools: list[str]
    mcp_servers: list[str]
    subagents: list[str]
    skills: list[str]
    max_turns: int | None = None
    max_budget_usd: float | None = None


class AgentList(BaseModel):
    """The personas available."""

    agents: list[AgentSummary]


class WebhookInfo(BaseModel):
    """A background run's webhook and its delivery."""

    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None = None
    last_error: str | None = None


class RunInfo(BaseModel):
    """A run started over HTTP."""

    run_id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    kind: Literal["sync", "stream", "background"]
    agent: str
    session_id: str | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    events: int = Field(description="Events so far; the last one's id.")
    events_url: str
    http_status: int | None = Field(default=None, description="The result's status, when done.")
    result: ResultBody | None = Field(default=None, description="The result body, when done.")
    webhook: WebhookInfo | None = None


class RunList(BaseModel):
    """The caller's runs still kept (finished ones for AGENTCONTAINERS_RUN_RETENTION)."""

    runs: list[RunInfo]


class SessionInfo(BaseModel):
    """One of the caller's sessions."""

    session_id: str
    agent: str
    title: str
    created_at: float
    updated_at: float
    turns: int
    total_cost_usd: float
    input_tokens: int
    output_tokens: int
    status: str


class SessionList(BaseModel):
    """A page of the caller's sessions, newest first."""

    sessions: list[SessionInfo]
    limit: int
    offset: int


class ToolUse(BaseModel):
    """A tool call of the assistant."""

    id: str | None = None
    name: str | None = None
    input: Any = None


class ToolResult(BaseModel):
    """What a tool returned."""

    tool_use_id: str | None = None
    content: str
    is_error: bool


class TranscriptEntry(BaseModel):
    """One block of a message: text, a tool call or a tool result."""

    role: Literal["user", "assistant"]
    timestamp: str | None = None
    text: str | None = None
    tool_use: ToolUse | None = None
    tool_result: ToolResult | None = None


class SessionDetail(SessionInfo):
    """A session with its transcript."""

    transcript: list[TranscriptEntry]


class AgentUsage(BaseModel):
    """Usage totals of one agent."""

    runs: int
    total_cost_usd: float
    input_tokens: int
    output_tokens: int
    turns: int
    errors: int


class Usage(BaseModel):
    """The caller's usage, per agent."""

    since: float
    agents: dict[str, AgentUsage]
    total_cost_usd: float
    runs: int


def request_schemas() -> dict[str, dict[str, Any]]:
    """Component schemas of the request bodies: ``AgentRequest`` and ``RunRequest``."""
    agent_request = AgentRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    properties = agent_request["properties"]
    # What the validators check beyond the types (policy rules, like the env denylist, are the
    # operator's and answer 400 with the key named).
    properties["prompt"].update(minLength=1, pattern=r"[^\s\x1c-\x1f\x85]")
    properties["resume_session_id"]["anyOf"][0].update(format="uuid", pattern=UUID_PATTERN)
    properties["env"]["anyOf"][0]["additionalProperties"] = False
    for value in properties["env"]["anyOf"][0]["patternProperties"].values():
        value["pattern"] = "^[^\\x00]*$"
    run_request = {
        **agent_request,
        "title": "RunRequest",
        "description": "An AgentRequest plus an optional completion webhook.",
        "properties": {
            **agent_request["properties"],
            "webhook_url": {
                "type": "string",
                "format": "uri",
                "maxLength": 2048,
                "description": "POSTed the finished run, signed with "
                "X-AgentContainers-Signature: sha256=<HMAC of the body>.",
            },
        },
    }
    return {"AgentRequest": agent_request, "RunRequest": run_request}


UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
IDEMPOTENCY_KEY_PATTERN = "^[!-~]{1,255}$"

#: One Server-Sent Event as OpenAPI 3.2 describes a ``text/event-stream`` item.
SSE_EVENT = {
    "type": "object",
    "required": ["data", "event", "id"],
    "properties": {
        "data": {"type": "string", "contentMediaType": "application/json"},
        "event": {
            "type": "string",
            "enum": [
                "run",
                "init",
                "text",
                "text_delta",
                "tool_use",
                "tool_result",
                "result",
                "error",
            ],
        },
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


def event_stream(description: str) -> dict[str, Any]:
    """A ``responses`` entry for a ``text/event-stream`` of run events."""
    return {"description": description, "content": {"text/event-stream": {"schema": SSE_EVENT}}}


def json_body(schema: str) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON body of component ``schema``."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    }


_ERRORS = {
    400: "Invalid request: the message names the field.",
    401: "Missing or wrong API key.",
    404: "Unknown agent, session or run (also another caller's).",
    409: "The session is busy with another turn.",
    413: "The body is over AGENTCONTAINERS_MAX_BODY_BYTES.",
    429: "Too many runs at once for this caller (Retry-After).",
    499: "The run was cancelled.",
    500: "A bug: the message says it was logged.",
    502: "The model API failed.",
    503: "The model API is overloaded or rate limited (Retry-After).",
    504: "The run passed its time limit.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses`` entries for error statuses, all with the result shape."""
    return {code: {"model": ResultBody, "description": _ERRORS[code]} for code in codes}
