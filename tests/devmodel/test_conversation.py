"""Reading requests: the prompt, the tool calls since it, the prompts so far, the persona."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agentcontainers.devmodel.conversation import (
    current_turn,
    persona,
    prompt_text,
    system_text,
    tool_names,
    user_prompts,
)

REMINDER = "<system-reminder>\nAttribution: be nice.\n</system-reminder>\n"


def user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(ident: str, name: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "tool_use", "id": ident, "name": name}]}


def tool_result(ident: str, content: Any, is_error: bool = False) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": ident, "content": content, "is_error": is_error}
    return user(block)


def test_prompt_is_stripped_of_system_reminders() -> None:
    assert prompt_text(user(text(REMINDER), text("hi"))) == "hi"
    assert prompt_text(user(text(f"{REMINDER}hello there"))) == "hello there"


def test_prompt_may_be_a_plain_string() -> None:
    assert prompt_text({"role": "user", "content": "hi"}) == "hi"


def test_reminder_only_messages_hold_no_prompt() -> None:
    assert prompt_text(user(text(REMINDER))) is None


def test_tool_result_messages_hold_no_prompt_even_with_text_beside() -> None:
    message = tool_result("t1", "out")
    message["content"].append(text("hook feedback"))
    assert prompt_text(message) is None


def test_newest_user_prompt_wins_over_a_trailing_system_message() -> None:
    messages = [
        user(text("first")),
        {"role": "assistant", "content": [text("answer")]},
        user(text(REMINDER), text("second")),
        {"role": "system", "content": "# Environment"},
    ]
    turn = current_turn(messages)
    assert turn.prompt == "second"
    assert turn.steps == []


def test_tool_steps_since_the_prompt_pair_calls_with_results() -> None:
    messages = [
        user(text("old")),
        tool_use("old1", "Read"),
        tool_result("old1", "stale"),
        user(text("now")),
        {"role": "system", "content": "env"},
        tool_use("a", "Bash"),
        tool_result("a", [text("line 1"), text("line 2")]),
        tool_use("b", "Nope"),
        tool_result("b", "No such tool available: Nope", is_error=True),
        tool_use("c", "Write"),
    ]
    turn = current_turn(messages)
    assert turn.prompt == "now"
    assert [(s.name, s.result, s.is_error) for s in turn.steps] == [
        ("Bash", "line 1\nline 2", False),
        ("Nope", "No such tool available: Nope", True),
        ("Write", None, False),
    ]


def test_non_text_tool_results_are_named() -> None:
    messages = [user(text("p")), tool_use("a", "Read"), tool_result("a", [{"type": "image"}])]
    assert current_turn(messages).steps[0].result == "[image]"


def test_user_prompts_skip_tool_results_and_reminders() -> None:
    messages = [
        user(text(REMINDER), text("first")),
        tool_use("a", "Bash"),
        tool_result("a", "x"),
        {"role": "assistant", "content": [text("done")]},
        {"role": "user", "content": "second"},
        user(text(REMINDER)),
        user(text("third")),
    ]
    assert user_prompts(messages) == ["first", "second", "third"]


def test_system_text_joins_blocks() -> None:
    assert system_text("plain") == "plain"
    assert system_text([text("a"), {"type": "image"}, text("b")]) == "a\nb"
    assert system_text(None) == ""


def test_tool_names() -> None:
    assert tool_names([{"name": "Bash"}, {"nope": 1}, "x", {"name": "Read"}]) == ["Bash", "Read"]
    assert tool_names(None) == []


def test_persona_names() -> None:
    assert persona("You are Clarice, a helpful librarian.") == "Clarice"
    assert persona("Intro.\nYou are Ada Lovelace.\n") == "Ada Lovelace"
    assert persona("Your name is Bob.") == "Bob"
    claude = "You are Claude Code, Anthropic's CLI. You are a Claude agent. You are an agent."
    assert persona(claude) is None
    assert persona(claude + "\nYou are Clarice.") == "Clarice"
    assert persona("you are nobody in particular") is None
    assert persona("# You are Clarice\n\nYou are Clarice, the assistant.") == "Clarice"
    assert persona("You are Clarice\nYou are warm.") == "Clarice"
    assert persona("You are Clarice You know.") == "Clarice"


_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", 3])},
    optional={"content": _ANY_JSON},
)


@given(st.one_of(_ANY_JSON, st.lists(st.one_of(_MESSAGE, _ANY_JSON), max_size=6)))
def test_odd_shapes_never_raise(messages: Any) -> None:
    current_turn(messages)
    user_prompts(messages)
    system_text(messages)
    tool_names(messages)


@given(st.text())
def test_persona_never_raises(value: str) -> None:
    persona(value)
