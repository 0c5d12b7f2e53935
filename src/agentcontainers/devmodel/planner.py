"""Decide what the dev model answers to one Messages API request.

:func:`plan` is pure: the same request body always gives the same plan. The only state the
dev model keeps (how often an ``[[error STATUS N]]`` has fired) lives in the app.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from agentcontainers.devmodel.conversation import (
    Turn,
    current_turn,
    persona,
    system_text,
    tool_names,
    user_prompts,
)
from agentcontainers.devmodel.directives import (
    Directives,
    ErrorDirective,
    TextDirective,
    ToolDirective,
    parse,
)
from agentcontainers.devmodel.sidequery import side_answer

__all__ = ["ERROR_TYPES", "Plan", "default_answer", "error_body", "plan"]

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_QUOTE_LIMIT = 300


@dataclass
class Plan:
    """The answer to one request: content blocks, or an error, after an optional stall."""

    model: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = "end_turn"
    error: ErrorDirective | None = None
    stall: float = 0.0
    #: Seconds between the events of a streamed answer (``[[drip]]``).
    drip: float = 0.0
    message_id: str = "msg_dev"


def error_type(status: int) -> str:
    """The Anthropic error ``type`` for an HTTP status."""
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "invalid_request_error" if status < 500 else "api_error"


def error_body(status: int, message: str) -> dict[str, Any]:
    """An Anthropic error JSON body for ``status``.

    Args:
        status: HTTP status (4xx or 5xx).
        message: Human-readable message.

    Returns:
        ``{"type": "error", "error": {"type": ..., "message": ...}}``.
    """
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def _digest(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def default_answer(prompt: str | None, system: str) -> str:
    """The friendly answer to a prompt without directives.

    Args:
        prompt: The user's prompt, if any.
        system: The system prompt (a persona name in it is mentioned).

    Returns:
        A short, deterministic text that says plainly this is a stand-in for Claude.
    """
    text = (
        "Hello! I'm the AgentContainers dev model, a deterministic local stand-in for Claude: "
        "no AI model wrote this reply."
    )
    if prompt:
        quoted = prompt if len(prompt) <= _QUOTE_LIMIT else prompt[:_QUOTE_LIMIT] + "…"
        text += f" You said: “{quoted}”."
    text += " Directives such as [[say ...]] in a prompt script my answers (docs/dev-model.md)."
    name = persona(system)
    return f"Speaking as {name}: {text}" if name else text


def _render(directive: TextDirective, body: dict[str, Any], system: str) -> str:
    if directive.kind == "say":
        return directive.text
    if directive.kind == "echo-system":
        return system or "(no system prompt)"
    if directive.kind == "echo-tools":
        return ", ".join(sorted(tool_names(body.get("tools")))) or "(no tools)"
    if directive.kind == "echo-model":
        return str(body.get("model", ""))
    prompts = user_prompts(body.get("messages"))
    lines = [f"turns: {len(prompts)}"]
    lines += [f"{number}: {text}" for number, text in enumerate(prompts, start=1)]
    return "\n".join(lines)


def _final_text(turn: Turn, found: Directives, body: dict[str, Any], system: str) -> str:
    parts = []
    for step in turn.steps:
        if step.result is None:
            parts.append(f"tool {step.name} returned no result")
        else:
            verb = "failed" if step.is_error else "returned"
            parts.append(f"tool {step.name} {verb}: {step.result}")
    parts += [_render(d, body, system) for d in found.texts]
    return "\n".join(parts) if parts else default_answer(turn.prompt, system)


def _tool_block(tool: ToolDirective, ident: str) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": f"toolu_dev_{ident[:24]}",
        "name": tool.name,
        "input": tool.input,
    }


def plan(body: dict[str, Any]) -> Plan:
    """Plan the answer to a ``POST /v1/messages`` body.

    The newest user prompt is parsed for directives. Tool directives are answered one per model
    turn, counted by the tool calls made since the prompt; after the last one the answer is
    text naming each tool's result. A request without a ``tools`` field is a side query of the
    CLI (a session title, a summary): its directives are not obeyed, see
    :mod:`agentcontainers.devmodel.sidequery`.

    Args:
        body: The decoded request body (any dict; odd fields count as absent).

    Returns:
        The plan. ``error`` is set when the prompt asks for an HTTP error.
    """
    model = body.get("model")
    model = model if isinstance(model, str) else ""
    messages = body.get("messages")
    turn = current_turn(messages)
    found = parse(turn.prompt or "") if "tools" in body else Directives()
    system = system_text(body.get("system"))
    count = len(messages) if isinstance(messages, list) else 0
    ident = _digest(count, len(turn.steps), turn.prompt, model)
    result = Plan(
        model,
        error=found.error,
        stall=found.stall,
        drip=found.drip,
        message_id=f"msg_dev_{ident[:24]}",
    )
    step = len(turn.steps)
    if "tools" not in body:
        result.error, result.stall, result.drip = None, 0.0, 0.0
        result.blocks = [{"type": "text", "text": side_answer(body)}]
    elif step < len(found.tools):
        result.blocks = [_tool_block(found.tools[step], ident)]
        result.stop_reason = "tool_use"
    elif found.loop is not None:
        result.blocks = [_tool_block(found.loop, ident)]
        result.stop_reason = "tool_use"
    else:
        result.blocks = [{"type": "text", "text": _final_text(turn, found, body, system)}]
    return result
