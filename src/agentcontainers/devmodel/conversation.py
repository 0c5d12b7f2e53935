"""Read a Messages API request the way the dev model needs it.

Every function here takes untrusted JSON (whatever the client sent) and never raises on an odd
shape: a field of the wrong type counts as absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ToolStep",
    "Turn",
    "current_turn",
    "persona",
    "system_text",
    "tool_names",
    "user_prompts",
]

_REMINDER = re.compile(r"<system-reminder>.*?(?:</system-reminder>|\Z)", re.DOTALL)
_PERSONA = re.compile(
    r"(?:\bYou are|\bYour name is)[ \t]+([A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*)?)(?=[\s,.!;:]|$)"
)
_NOT_PERSONAS = frozenset({"Claude", "Anthropic", "A", "An", "The", "You", "Your", "I"})


@dataclass
class ToolStep:
    """One tool call the model made since the prompt, with its result once there is one."""

    name: str
    id: str
    result: str | None = None
    is_error: bool = False


@dataclass
class Turn:
    """The prompt being answered and the tool calls made since it."""

    prompt: str | None
    steps: list[ToolStep] = field(default_factory=list)


def _blocks(content: Any) -> list[dict[str, Any]]:
    """The content blocks of a message (a bare string becomes one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _strip_reminders(text: str) -> str:
    """Remove ``<system-reminder>`` sections from a text block."""
    return _REMINDER.sub("", text).strip() if "<system-reminder>" in text else text.strip()


def prompt_text(message: Any) -> str | None:
    """The user's own words in a message, or None when it holds none.

    A message holding a ``tool_result`` is a tool turn, never a prompt, whatever text sits
    beside it.

    Args:
        message: One element of the request's ``messages``.

    Returns:
        The joined text blocks without system reminders, or None.
    """
    if not isinstance(message, dict) or message.get("role") != "user":
        return None
    blocks = _blocks(message.get("content"))
    if any(b.get("type") == "tool_result" for b in blocks):
        return None
    parts = [
        _strip_reminders(b["text"])
        for b in blocks
        if b.get("type") == "text" and isinstance(b.get("text"), str)
    ]
    text = "\n".join(p for p in parts if p)
    return text or None


def result_text(block: dict[str, Any]) -> str:
    """The text of a ``tool_result`` block (string content or joined text blocks)."""
    content = block.get("content")
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for b in _blocks(content):
        if b.get("type") == "text" and isinstance(b.get("text"), str):
            parts.append(b["text"])
        elif isinstance(b.get("type"), str):
            parts.append(f"[{b['type']}]")
    return "\n".join(parts)


def current_turn(messages: Any) -> Turn:
    """Find the newest prompt and the tool calls answered since it.

    Args:
        messages: The request's ``messages``.

    Returns:
        The turn; ``prompt`` is None when no user message holds text.
    """
    if not isinstance(messages, list):
        return Turn(None)
    start = None
    for index in range(len(messages) - 1, -1, -1):
        text = prompt_text(messages[index])
        if text is not None:
            start = index
            break
    if start is None:
        return Turn(None)
    turn = Turn(text)
    by_id: dict[str, ToolStep] = {}
    for message in messages[start + 1 :]:
        if not isinstance(message, dict):
            continue
        for block in _blocks(message.get("content")):
            kind = block.get("type")
            if message.get("role") == "assistant" and kind == "tool_use":
                step = ToolStep(str(block.get("name", "")), str(block.get("id", "")))
                turn.steps.append(step)
                by_id[step.id] = step
            elif message.get("role") == "user" and kind == "tool_result":
                found = by_id.get(str(block.get("tool_use_id", "")))
                if found is not None:
                    found.result = result_text(block)
                    found.is_error = bool(block.get("is_error"))
    return turn


def user_prompts(messages: Any) -> list[str]:
    """Every prompt the user wrote in the conversation, oldest first."""
    if not isinstance(messages, list):
        return []
    return [t for t in (prompt_text(m) for m in messages) if t is not None]


def system_text(system: Any) -> str:
    """The system prompt as one string (text blocks joined by newlines)."""
    if isinstance(system, str):
        return system
    return "\n".join(
        b["text"]
        for b in _blocks(system)
        if b.get("type") == "text" and isinstance(b.get("text"), str)
    )


def tool_names(tools: Any) -> list[str]:
    """The names of the tools offered, in request order."""
    if not isinstance(tools, list):
        return []
    return [t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]


def persona(system: str) -> str | None:
    """A persona name the system prompt gives the agent ("You are Clarice, ..."), if any.

    Args:
        system: The system prompt text.

    Returns:
        The first capitalised name after "You are" / "Your name is" that is not Claude's own.
    """
    for match in _PERSONA.finditer(system):
        words = match.group(1).split()
        if words[0] in _NOT_PERSONAS or words[0] == "Claude":
            continue
        return words[0] if words[-1] in _NOT_PERSONAS else " ".join(words)
    return None
