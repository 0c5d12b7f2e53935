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
            st.sampled_from(["type", "message", "content", "text", "x"]), children, max_size=4
        )
    ),
    max_leaves=15,
)
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["system", "assistant", "user", "result", "other"])},
    optional={"subtype": st.sampled_from(["init", "status"]), "message": json_values},
)


@given(messages)
def test_events_of_never_raises(message):
    for event in events_of(message):
        assert event.kind in {"init", "text", "tool_use", "tool_result", "result"}


def test_a_message_whose_message_is_text_has_no_events():
    assert events_of({"type": "system", "subtype": "status", "message": "compacting"}) == []
