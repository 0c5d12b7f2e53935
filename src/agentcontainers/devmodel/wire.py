"""Turn a :class:`~agentcontainers.devmodel.planner.Plan` into Messages API wire formats.

Non-streaming answers are one JSON message; streaming answers are the SSE events the real API
sends (``message_start``, ``ping``, ``content_block_start/delta/stop``, ``message_delta``,
``message_stop``). Text arrives in a few deltas, tool input as ``input_json_delta`` pieces.
"""

from __future__ import annotations

import json
from typing import Any

from agentcontainers.devmodel.planner import Plan

__all__ = ["estimate_tokens", "message", "sse_events", "usage"]

_DELTAS = 4
_MIN_DELTA_CHARS = 24


def estimate_tokens(size: int) -> int:
    """A deterministic token estimate: about four characters (bytes) a token, at least 1."""
    return max(1, size // 4)


def usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """A ``usage`` object with the cache fields present and zero."""
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def output_tokens(plan: Plan) -> int:
    """Estimated output tokens of a plan's content."""
    size = 0
    for block in plan.blocks:
        if block["type"] == "text":
            size += len(block["text"])
        else:
            size += len(json.dumps(block["input"])) + len(block["name"])
    return estimate_tokens(size)


def message(plan: Plan, input_tokens: int) -> dict[str, Any]:
    """The complete (non-streaming) message for a plan."""
    return {
        "id": plan.message_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": plan.blocks,
        "stop_reason": plan.stop_reason,
        "stop_sequence": None,
        "usage": usage(input_tokens, output_tokens(plan)),
    }


def split_text(text: str, pieces: int = _DELTAS) -> list[str]:
    """Cut text into at most ``pieces`` chunks, at spaces where possible, never empty.

    Args:
        text: The text to stream.
        pieces: The most chunks wanted.

    Returns:
        Chunks that join back to ``text`` exactly.
    """
    if len(text) < 2 * _MIN_DELTA_CHARS:
        return [text] if text else []
    size = max(_MIN_DELTA_CHARS, -(-len(text) // pieces))
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + 1, end)
            end = space + 1 if space > start else end
        chunks.append(text[start:end])
        start = end
    return chunks


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def sse_events(plan: Plan, input_tokens: int) -> list[bytes]:
    """The SSE events, encoded, that stream a plan's message.

    Args:
        plan: The planned answer.
        input_tokens: The request's estimated input tokens.

    Returns:
        One ``bytes`` per event, in order.
    """
    start = message(plan, input_tokens)
    start.update(content=[], stop_reason=None)
    start["usage"] = usage(input_tokens, 1)
    events = [
        _event("message_start", {"type": "message_start", "message": start}),
        _event("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(plan.blocks):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": c} for c in split_text(block["text"])]
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            raw = json.dumps(block["input"], ensure_ascii=False)
            deltas = [{"type": "input_json_delta", "partial_json": c} for c in split_text(raw)]
        events.append(
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opening},
            )
        )
        events += [
            _event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
            )
            for d in deltas
        ]
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    final_usage = usage(input_tokens, output_tokens(plan))
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": plan.stop_reason, "stop_sequence": None},
                "usage": final_usage,
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events
