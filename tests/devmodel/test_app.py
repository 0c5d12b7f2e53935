"""The dev model's HTTP API, in-process through ``httpx.ASGITransport``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp

from agentcontainers.devmodel import create_app
from agentcontainers.devmodel.app import RECORD_LIMIT
from tests.devmodel.helpers import body, call, send, sse, streamed_message, text_of


@pytest.fixture
def app() -> ASGIApp:
    return create_app()


def answer(app: ASGIApp, data: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/messages and return the message, streamed or not."""
    response = call(app, "POST", "/v1/messages", json=data)
    assert response.status_code == 200, response.text
    if data.get("stream"):
        assert response.headers["content-type"].startswith("text/event-stream")
        return streamed_message(response)
    return response.json()


# --- plain answers ------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_plain_prompt_gets_the_friendly_answer(app: ASGIApp, stream: bool) -> None:
    message = answer(app, body("who are you", stream=stream))
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["model"] == "claude-test-1"
    assert message["stop_reason"] == "end_turn"
    text = text_of(message)
    assert "AgentContainers dev model" in text
    assert "stand-in for Claude" in text
    assert "“who are you”" in text
    assert not text.startswith("Speaking as")


def test_persona_from_the_system_prompt_is_named(app: ASGIApp) -> None:
    system = [
        {"type": "text", "text": "You are a Claude agent."},
        {"type": "text", "text": "You are Clarice, a librarian."},
    ]
    text = text_of(answer(app, body("who are you", system=system)))
    assert text.startswith("Speaking as Clarice: ")


def test_answers_are_deterministic(app: ASGIApp) -> None:
    first = answer(app, body("same [[tool Bash {}]]"))
    assert answer(create_app(), body("same [[tool Bash {}]]")) == first


@pytest.mark.parametrize("stream", [False, True])
def test_usage_is_realistic(app: ASGIApp, stream: bool) -> None:
    usage = answer(app, body("count me", stream=stream))["usage"]
    assert usage["input_tokens"] > 10
    assert usage["output_tokens"] > 10
    assert usage["cache_creation_input_tokens"] == 0
    assert usage["cache_read_input_tokens"] == 0


def test_stream_has_the_api_event_sequence_and_several_text_deltas(app: ASGIApp) -> None:
    response = call(app, "POST", "/v1/messages", json=body("x" * 10 + " hello" * 40, stream=True))
    kinds = [kind for kind, _ in sse(response)]
    assert kinds[:3] == ["message_start", "ping", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [d for k, d in sse(response) if k == "content_block_delta"]
    assert 2 <= len(deltas) <= 8
    assert all(d["delta"]["type"] == "text_delta" for d in deltas)


def test_responses_are_labelled_as_a_stand_in(app: ASGIApp) -> None:
    assert call(app, "POST", "/v1/messages", json=body("hi")).headers["x-dev-model"] == "stand-in"
    assert call(app, "GET", "/nope").headers["x-dev-model"] == "stand-in"


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
    messages = [
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
    assert fast < 0.4


def test_stall_ends_early_when_the_client_goes_away(app: ASGIApp) -> None:
    raw = json.dumps(body("[[stall 30]] [[say never]]")).encode()
    incoming = [
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


# --- other endpoints ----------------------------------------------------------------------


def test_count_tokens(app: ASGIApp) -> None:
    small = call(app, "POST", "/v1/messages/count_tokens", json=body("hi"))
    large = call(app, "POST", "/v1/messages/count_tokens", json=body("hi " * 1000))
    assert small.status_code == 200
    assert 0 < small.json()["input_tokens"] < large.json()["input_tokens"]
    assert call(app, "POST", "/v1/messages/count_tokens", json=body("hi")).json() == small.json()


def test_models(app: ASGIApp) -> None:
    listing = call(app, "GET", "/v1/models").json()
    assert {"claude-opus-5-5", "dev-model"} <= {m["id"] for m in listing["data"]}
    assert listing["has_more"] is False
    assert call(app, "GET", "/v1/models/claude-any").json()["id"] == "claude-any"


def test_liveness(app: ASGIApp) -> None:
    assert call(app, "HEAD", "/api/hello").status_code == 200
    assert call(app, "GET", "/").json()["stand_in_for"] == "Anthropic Messages API"


# --- recorded requests --------------------------------------------------------------------


def test_requests_are_recorded_without_credentials(app: ASGIApp) -> None:
    headers = {"x-api-key": "secret-1", "authorization": "Bearer secret-2", "x-app": "cli"}
    data = body("[[say hi]]", system="You are Clarice.")
    call(app, "POST", "/v1/messages", json=data, headers=headers)
    call(app, "GET", "/api/unknown")
    records = call(app, "GET", "/_dev/requests").json()
    assert [r["path"] for r in records] == ["/v1/messages", "/api/unknown"]
    first = records[0]
    assert first["model"] == "claude-test-1"
    assert first["system"] == "You are Clarice."
    assert first["prompt"] == "[[say hi]]"
    assert first["messages"] == data["messages"]
    assert first["tools"] == ["Bash", "Read"]
    assert first["headers"]["x-app"] == "cli"
    assert "secret" not in json.dumps(records)
    assert call(app, "GET", "/_dev/requests?limit=1").json() == records[1:]
    assert call(app, "GET", "/_dev/requests?path=/v1/messages").json() == records[:1]
    assert call(app, "GET", "/_dev/requests?session=nope").json() == []
    assert call(app, "GET", "/_dev/requests?limit=x").json() == records
    assert call(app, "DELETE", "/_dev/requests").status_code == 204
    assert call(app, "GET", "/_dev/requests").json() == []


def test_record_keeps_only_the_newest(app: ASGIApp) -> None:
    async def many() -> None:
        for number in range(RECORD_LIMIT + 5):
            await send(app, "POST", "/v1/messages/count_tokens", json=body(f"n{number}"))

    asyncio.run(many())
    records = call(app, "GET", "/_dev/requests").json()
    assert len(records) == RECORD_LIMIT
    assert records[-1]["prompt"] == f"n{RECORD_LIMIT + 4}"


# --- bad requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"messages": []}', "model"),
        (b'{"model": "m"}', "messages"),
        (b'{"model": "m", "messages": "hi"}', "messages"),
        (b'{"model": "m", "messages": [1]}', "messages"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"model": "m", "messages": [], "x": NaN}', "not valid JSON"),
        (b'{"model": "m", "messages": [], "x": 1e999}', "not valid JSON"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_bad_bodies_are_clear_400s(app: ASGIApp, content: bytes, fragment: str, path: str) -> None:
    response = call(app, "POST", path, content=content)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert fragment in response.json()["error"]["message"]


def test_unknown_paths_are_404_and_wrong_methods_405(app: ASGIApp) -> None:
    missing = call(app, "POST", "/v1/complete", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    wrong = call(app, "GET", "/v1/messages")
    assert wrong.status_code == 405
    assert wrong.json()["type"] == "error"


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=25,
)
_BODY = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.just("m"), _JSON),
        "messages": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"role": st.sampled_from(["user", "assistant"]), "content": _JSON}
                ),
                max_size=4,
            ),
            _JSON,
        ),
        "system": _JSON,
        "tools": _JSON,
        "stream": _JSON,
        "output_config": _JSON,
    },
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_BODY)
def test_no_request_body_makes_a_500(app: ASGIApp, data: dict[str, Any]) -> None:
    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dev-model") as client:
            return [
                await client.post(path, json=data)
                for path in ("/v1/messages", "/v1/messages/count_tokens")
            ]

    for response in asyncio.run(both()):
        assert response.status_code in (200, 400), response.text
