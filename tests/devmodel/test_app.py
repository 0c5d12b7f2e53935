"""The dev model's HTTP API, in-process through ``httpx.ASGITransport``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp

from agentcontainers.devmodel import create_app
from agentcontainers.devmodel.app import RECORD_LIMIT
from tests.devmodel.helpers import answer, body, call, send, sse, text_of


@pytest.fixture
def app() -> ASGIApp:
    return create_app()


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
