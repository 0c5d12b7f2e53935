"""Whatever the CLI writes on stdout, turning it into events never raises."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agentcontainers.runtime.claude_code import events_of

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "message", "content", "text", "delta", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=15,
)
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["system", "assistant", "user", "result", "stream_event", "other"])},
    optional={
        "subtype": st.sampled_from(["init", "status"]),
        "message": json_values,
        "event": json_values,
    },
)


@given(messages)
def test_events_of_never_raises(message):
    for event in events_of(message):
        assert event.kind in {"init", "text", "text_delta", "tool_use", "tool_result", "result"}


def test_a_message_whose_message_is_text_has_no_events():
    assert events_of({"type": "system", "subtype": "status", "message": "compacting"}) == []


def test_a_text_delta_is_an_event_and_other_stream_events_are_not():
    def stream_event(event):
        return {"type": "stream_event", "event": event, "parent_tool_use_id": None}

    piece = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hel"},
    }
    assert [(e.kind, e.data) for e in events_of(stream_event(piece))] == [
        ("text_delta", {"text": "Hel", "parent_tool_use_id": None})
    ]
    json_piece = {"type": "content_block_delta", "delta": {"type": "input_json_delta"}}
    for other in ({"type": "message_start"}, {"type": "content_block_stop"}, json_piece):
        assert events_of(stream_event(other)) == []
