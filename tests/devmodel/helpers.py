"""Helpers for the dev model's in-process tests: requests through ``httpx.ASGITransport``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from starlette.types import ASGIApp

TOOLS: list[dict[str, Any]] = [
    {"name": "Bash", "input_schema": {"type": "object"}},
    {"name": "Read"},
]


async def send(app: ASGIApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to ``app`` in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dev-model") as client:
        return await client.request(method, path, **kwargs)


def call(app: ASGIApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to ``app`` in-process, from synchronous code."""
    return asyncio.run(send(app, method, path, **kwargs))


def body(
    prompt: str | None = None,
    *,
    messages: list[dict[str, Any]] | None = None,
    system: Any = "You are a test agent.",
    tools: list[dict[str, Any]] | None = TOOLS,
    stream: bool = False,
    model: str = "claude-test-1",
) -> dict[str, Any]:
    """A Messages API request body (``tools=None`` leaves the field out: a side query)."""
    data: dict[str, Any] = {
        "model": model,
        "max_tokens": 1024,
        "system": system,
        "messages": messages if messages is not None else [{"role": "user", "content": prompt}],
        "stream": stream,
    }
    if tools is not None:
        data["tools"] = tools
    return data


def sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """Parse an SSE body into (event, data) pairs."""
    events = []
    for chunk in response.text.split("\n\n"):
        if not chunk.strip():
            continue
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def streamed_message(response: httpx.Response) -> dict[str, Any]:
    """Rebuild the complete message from SSE events, as an SDK client would."""
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for kind, data in sse(response):
        if kind == "message_start":
            message = data["message"]
        elif kind == "content_block_start":
            message["content"].append(data["content_block"])
        elif kind == "content_block_delta":
            block = message["content"][data["index"]]
            delta = data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif kind == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = json.loads(partial[data["index"]])
        elif kind == "message_delta":
            message.update(data["delta"])
            message["usage"].update(data["usage"])
    return message


def text_of(message: dict[str, Any]) -> str:
    """The joined text blocks of a message."""
    return "".join(b["text"] for b in message["content"] if b["type"] == "text")


def answer(app: ASGIApp, data: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/messages and return the message, streamed or not."""
    response = call(app, "POST", "/v1/messages", json=data)
    assert response.status_code == 200, response.text
    if data.get("stream"):
        assert response.headers["content-type"].startswith("text/event-stream")
        return streamed_message(response)
    return response.json()
