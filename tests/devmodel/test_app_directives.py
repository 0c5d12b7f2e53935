"""The dev model's directives and side queries over HTTP, in-process (``httpx.ASGITransport``)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from starlette.types import ASGIApp

from agentcontainers.devmodel import create_app
from tests.devmodel.helpers import answer, body, call, send, sse, streamed_message, text_of


@pytest.fixture
def app() -> ASGIApp:
    return create_app()


# --- directives ---------------------------------------------------------------------------


def tool_round(
    messages: list[dict[str, Any]], message: dict[str, Any], result: Any, is_error: bool = False
) -> None:
    """Append the assistant's tool call and the tool's result, as the CLI does."""
    messages.append({"role": "assistant", "content": message["content"]})
    call_id = message["content"][0]["id"]
    messages.append(
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": call_id,
                    "content": result,
                    "is_error": is_error,
                }
            ],
        }
    )


@pytest.mark.parametrize("stream", [False, True])
def test_tool_directives_run_in_sequence_then_report_results(app: ASGIApp, stream: bool) -> None:
    prompt = 'go [[tool Bash {"command": "echo one"}]] [[tool Nope {"x": [1]}]]'
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    first = answer(app, body(messages=messages, stream=stream))
    assert first["stop_reason"] == "tool_use"
    assert [(b["type"], b["name"], b["input"]) for b in first["content"]] == [
        ("tool_use", "Bash", {"command": "echo one"})
    ]
    tool_round(messages, first, "one")
    messages.append({"role": "system", "content": "trailing environment message"})
    second = answer(app, body(messages=messages, stream=stream))
    assert second["stop_reason"] == "tool_use"
    assert second["content"][0]["name"] == "Nope"
    assert second["content"][0]["input"] == {"x": [1]}
    assert second["content"][0]["id"] != first["content"][0]["id"]
    tool_round(
        messages,
        second,
        "<tool_use_error>No such tool available: Nope</tool_use_error>",
        is_error=True,
    )
    final = answer(app, body(messages=messages, stream=stream))
    assert final["stop_reason"] == "end_turn"
    assert text_of(final) == (
        "tool Bash returned: one\n"
        "tool Nope failed: <tool_use_error>No such tool available: Nope</tool_use_error>"
    )


def test_long_tool_input_streams_in_several_json_pieces(app: ASGIApp) -> None:
    command = "echo " + "word " * 60
    data = body(f"[[tool Bash {json.dumps({'command': command})}]]", stream=True)
    response = call(app, "POST", "/v1/messages", json=data)
    deltas = [d["delta"] for k, d in sse(response) if k == "content_block_delta"]
    assert len(deltas) > 1
    assert all(d["type"] == "input_json_delta" for d in deltas)
    assert streamed_message(response)["content"][0]["input"] == {"command": command}


def test_text_directives_follow_tool_results(app: ASGIApp) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "[[tool Bash {}]] [[say done]]"}]
    first = answer(app, body(messages=messages))
    tool_round(messages, first, "ok")
    assert text_of(answer(app, body(messages=messages))) == "tool Bash returned: ok\ndone"


def test_loop_calls_the_tool_forever(app: ASGIApp) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": '[[loop Bash {"command": "true"}]]'}
    ]
    ids = set()
    for _ in range(5):
        message = answer(app, body(messages=messages))
        assert message["stop_reason"] == "tool_use"
        assert message["content"][0]["input"] == {"command": "true"}
        ids.add(message["content"][0]["id"])
        tool_round(messages, message, "")
    assert len(ids) == 5


def test_echo_system(app: ASGIApp) -> None:
    system = [{"type": "text", "text": "Block one."}, {"type": "text", "text": "You are Clarice."}]
    assert (
        text_of(answer(app, body("[[echo-system]]", system=system)))
        == "Block one.\nYou are Clarice."
    )


def test_echo_tools_is_sorted(app: ASGIApp) -> None:
    tools = [{"name": "Write"}, {"name": "Bash"}, {"name": "mcp__mem__get"}]
    assert text_of(answer(app, body("[[echo-tools]]", tools=tools))) == "Bash, Write, mcp__mem__get"
    assert text_of(answer(app, body("[[echo-tools]]", tools=[]))) == "(no tools)"


def test_echo_model(app: ASGIApp) -> None:
    message = answer(app, body("[[echo-model]]", model="claude-haiku-x"))
    assert text_of(message) == "claude-haiku-x"
    assert message["model"] == "claude-haiku-x"


def test_history_lists_every_prompt(app: ASGIApp) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"type": "text", "text": "a1"}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "<system-reminder>r</system-reminder>"},
                {"type": "text", "text": "second"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "a2"}]},
        {"role": "user", "content": "third [[history]]"},
    ]
    assert text_of(answer(app, body(messages=messages))) == (
        "turns: 3\n1: first\n2: second\n3: third [[history]]"
    )


@pytest.mark.parametrize("stream", [False, True])
def test_say_answers_exactly(app: ASGIApp, stream: bool) -> None:
    message = answer(app, body("[[say <script>alert(1)</script> **bold** ünïcode]]", stream=stream))
    assert text_of(message) == "<script>alert(1)</script> **bold** ünïcode"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, "rate_limit_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (503, "api_error"),
        (418, "invalid_request_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_error_directive(app: ASGIApp, status: int, kind: str, stream: bool) -> None:
    response = call(app, "POST", "/v1/messages", json=body(f"[[error {status}]]", stream=stream))
    assert response.status_code == status
    assert response.json() == {
        "type": "error",
        "error": {"type": kind, "message": response.json()["error"]["message"]},
    }
    assert f"[[error {status}]]" in response.json()["error"]["message"]
    assert response.headers.get("retry-after") == ("1" if status in (429, 529) else None)
    assert response.headers["request-id"].startswith("req_dev_")


def test_error_with_a_count_fails_only_that_often(app: ASGIApp) -> None:
    data = body("[[error 529 2]] [[say recovered]]")
    statuses = [call(app, "POST", "/v1/messages", json=data).status_code for _ in range(2)]
    final = call(app, "POST", "/v1/messages", json=data)
    assert statuses == [529, 529]
    assert final.status_code == 200
    assert text_of(final.json()) == "recovered"
    call(app, "DELETE", "/_dev/requests")
    assert call(app, "POST", "/v1/messages", json=data).status_code == 529


def test_stall_waits_without_blocking_other_requests(app: ASGIApp) -> None:
    async def both() -> tuple[float, float]:
        started = time.monotonic()

        async def timed(prompt: str) -> float:
            response = await send(app, "POST", "/v1/messages", json=body(prompt))
            assert response.status_code == 200
            return time.monotonic() - started

        slow, fast = await asyncio.gather(timed("[[stall 0.5]] [[say slow]]"), timed("quick"))
        return slow, fast

    slow, fast = asyncio.run(both())
    assert slow >= 0.5
    assert fast < slow  # answered while the other one stalled


def test_drip_streams_the_same_answer_slowly(app: ASGIApp) -> None:
    prompt = "[[say a reply long enough to arrive in several pieces, one after another]]"

    async def timed(text: str) -> tuple[float, list[tuple[str, dict[str, Any]]]]:
        started = time.monotonic()
        response = await send(app, "POST", "/v1/messages", json=body(text, stream=True))
        return time.monotonic() - started, sse(response)

    _, plain = asyncio.run(timed(prompt))
    elapsed, dripped = asyncio.run(timed(prompt + " [[drip 0.05]]"))
    kinds = [kind for kind, _ in dripped]
    assert kinds == [kind for kind, _ in plain]
    assert kinds.count("content_block_delta") > 1
    assert elapsed >= 0.05 * (len(kinds) - 1)


def test_stall_ends_early_when_the_client_goes_away(app: ASGIApp) -> None:
    raw = json.dumps(body("[[stall 30]] [[say never]]")).encode()
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": raw, "more_body": False},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send_message(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/messages",
        "raw_path": b"/v1/messages",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "server": ("dev-model", 80),
        "client": ("127.0.0.1", 1),
    }
    started = time.monotonic()
    asyncio.run(app(scope, receive, send_message))  # type: ignore[arg-type]
    assert time.monotonic() - started < 2
    assert sent[0]["status"] == 499


def test_stall_combines_with_error(app: ASGIApp) -> None:
    started = time.monotonic()
    response = call(app, "POST", "/v1/messages", json=body("[[stall 0.2]] [[error 529]]"))
    assert response.status_code == 529
    assert time.monotonic() - started >= 0.2


# --- side queries -------------------------------------------------------------------------


def test_side_query_ignores_directives_and_fits_the_schema(app: ASGIApp) -> None:
    data = body(
        "<session>\n[[error 429]] [[tool Bash {}]] [[stall 30]]\n</session>\n\nWrite the title",
        tools=None,
    )
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    data["output_config"] = {
        "effort": "medium",
        "format": {"type": "json_schema", "schema": schema},
    }
    data["stream"] = True
    message = answer(app, data)
    assert message["stop_reason"] == "end_turn"
    assert json.loads(text_of(message)) == {"title": "Dev model session"}


def test_side_query_without_schema_gets_a_short_text(app: ASGIApp) -> None:
    assert text_of(answer(app, body("[[say nope]] summarise", tools=None))) == "Dev model session"
