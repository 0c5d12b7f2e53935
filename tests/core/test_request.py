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
        ({"prompt": "a\x00b"}, "prompt"),
        ({"prompt": "x", "resume_session_id": "123"}, "resume_session_id"),
    ],
)
def test_messages_name_the_field(data, message):
    with pytest.raises(InvalidRequest) as caught:
        parse_request(data)
    assert message in str(caught.value)


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
