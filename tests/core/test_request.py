"""The request contract: strict validation, messages naming the field, never a crash."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcontainers.errors import InvalidRequest
from agentcontainers.request import AgentRequest, parse_request


def test_seed_example_parses():
    request = parse_request(
        json.dumps(
            {
                "prompt": "Help me analyze this codebase",
                "append_system_prompt": "Be brief",
                "allowed_tools": ["Read", "Grep", "LS"],
                "disallowed_tools": ["Write", "Bash"],
                "resume_session_id": "E2C3D429-413B-44BE-9334-BFF28C9953D0",
                "env": {"CUSTOM_VAR": "value", "MCP_SERVERS": "Everything, assistant"},
            }
        )
    )
    assert request.resume_session_id == "e2c3d429-413b-44be-9334-bff28c9953d0"
    assert request.mcp_server_names == ["everything", "assistant"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"prompt": "x", "env": {"A-B": "1"}}, "env.A-B"),
        ({"prompt": "x", "env": {"OK": 1}}, "env.OK"),
        ({"prompt": "x", "allowed_tools": ["Read", ""]}, "allowed_tools[1]"),
        ({"prompt": "x", "max_budget_usd": -1}, "max_budget_usd"),
        ({"prompt": "x", "max_turns": 0}, "max_turns"),
        ({"prompt": "x", "max_turns": True}, "max_turns"),
        ({"prompt": "x", "agent": "../etc"}, "agent"),
        ({"prompt": "a\x00b"}, "field 'prompt': must not contain NUL"),
        # each of these reaches the agent's argv or environment (found by schemathesis)
        ({"prompt": "x", "append_system_prompt": "a\x00"}, "field 'append_system_prompt': must"),
        ({"prompt": "x", "model": "m\x00"}, "field 'model': must not contain NUL"),
        ({"prompt": "x", "env": {"A": "\x00"}}, "field 'env.A': must not contain NUL"),
        ({"prompt": "x", "resume_session_id": "123"}, "resume_session_id"),
    ],
)
def test_messages_name_the_field(data, message):
    with pytest.raises(InvalidRequest) as caught:
        parse_request(data)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"prompt": "hi \\ud800"}', "field 'prompt': must be valid Unicode text"),
        ('{"prompt": "hi", "env": {"A": "\\udfff"}}', "field 'env.A'"),
        ('{"prompt": "hi", "env": {"\\ud800": "x"}}', "field 'env.\\ud800'"),
        ('{"prompt": "hi", "append_system_prompt": "\\udc00"}', "'append_system_prompt'"),
        ('{"prompt": "hi", "allowed_tools": ["Read", "B\\ud800"]}', "'allowed_tools[1]'"),
        ('{"prompt": "hi", "disallowed_tools": ["\\ud800"]}', "'disallowed_tools[0]'"),
        (b'{"prompt": "caf\xe9"}', "request is not valid UTF-8"),
        ('{"prompt": "argv bytes \udcff"}', "request is not valid UTF-8"),
    ],
    ids=["prompt", "env-value", "env-key", "append", "allowed", "disallowed", "bytes", "argv"],
)
def test_text_that_is_not_unicode_is_refused_by_field(raw, message):
    with pytest.raises(InvalidRequest) as caught:
        parse_request(raw)
    assert message in str(caught.value)
    str(caught.value).encode()  # the message itself can be printed


def test_json_text_in_any_encoding_json_allows_still_parses():
    assert parse_request('{"prompt": "caf\\u00e9 \\ud83d\\ude00"}').prompt == "café 😀"
    assert parse_request('\ufeff{"prompt": "bom"}'.encode()).prompt == "bom"
    assert parse_request('{"prompt": "wide"}'.encode("utf-16")).prompt == "wide"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from([*AgentRequest.model_fields, "other"])


@given(st.dictionaries(field_names, json_values, max_size=6))
def test_arbitrary_objects_parse_or_fail_cleanly(data):
    try:
        request = parse_request(data)
    except InvalidRequest as exc:
        assert str(exc).startswith(("invalid request", "request "))
    else:
        assert request.prompt.strip()


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_arbitrary_text_parses_or_fails_cleanly(raw):
    with contextlib.suppress(InvalidRequest):
        parse_request(raw)
