"""The directive parser: each directive, malformed input, and that it never raises."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcontainers.devmodel.directives import (
    MAX_DRIP_SECONDS,
    MAX_STALL_SECONDS,
    Directives,
    ErrorDirective,
    TextDirective,
    ToolDirective,
    parse,
)


def test_plain_text_has_no_directives() -> None:
    found = parse("who are you")
    assert found == Directives()
    assert found.empty


def test_tool_directive_with_json_input() -> None:
    found = parse('please [[tool Bash {"command": "echo hi"}]] now')
    assert found.tools == (ToolDirective("Bash", {"command": "echo hi"}),)
    assert not found.empty


def test_tool_directive_without_input() -> None:
    assert parse("[[tool mcp__memory__list]]").tools == (ToolDirective("mcp__memory__list"),)


def test_tools_keep_their_order() -> None:
    found = parse('[[tool A {"n": 1}]] then [[tool B {"n": 2}]] and [[ tool A ]]')
    assert [(t.name, t.input) for t in found.tools] == [("A", {"n": 1}), ("B", {"n": 2}), ("A", {})]


def test_json_may_contain_closing_brackets() -> None:
    found = parse('[[tool Bash {"command": "echo \\"]]\\" [[x]]"}]]')
    assert found.tools == (ToolDirective("Bash", {"command": 'echo "]]" [[x]]'}),)


def test_loop_directive() -> None:
    found = parse('[[loop Bash {"command": "true"}]]')
    assert found.loop == ToolDirective("Bash", {"command": "true"})
    assert found.tools == ()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[[echo-system]]", "echo-system"),
        ("[[ echo-tools ]]", "echo-tools"),
        ("x [[echo-model]] y", "echo-model"),
        ("[[history]]", "history"),
    ],
)
def test_echo_and_history(text: str, kind: str) -> None:
    assert parse(text).texts == (TextDirective(kind),)  # type: ignore[arg-type]


def test_say_keeps_anything_up_to_the_closing_brackets() -> None:
    found = parse("[[say <script>alert('x')</script> *bold* `code`]]")
    assert found.texts == (TextDirective("say", "<script>alert('x')</script> *bold* `code`"),)


def test_say_spans_lines() -> None:
    assert parse("[[say line one\nline two ]]").texts[0].text == "line one\nline two"


def test_text_directives_keep_their_order() -> None:
    found = parse("[[say a]] [[echo-model]] [[say b]]")
    assert [(t.kind, t.text) for t in found.texts] == [
        ("say", "a"),
        ("echo-model", ""),
        ("say", "b"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[error 429]]", ErrorDirective(429)),
        ("[[error 529 2]]", ErrorDirective(529, 2)),
        ("[[ error 500 ]]", ErrorDirective(500)),
    ],
)
def test_error_directive(text: str, expected: ErrorDirective) -> None:
    assert parse(text).error == expected


def test_first_error_wins() -> None:
    assert parse("[[error 429]] [[error 500]]").error == ErrorDirective(429)


def test_stall_directive() -> None:
    assert parse("[[stall 1.5]]").stall == 1.5
    assert parse("[[stall 99999]]").stall == MAX_STALL_SECONDS


def test_drip_directive() -> None:
    found = parse("[[drip 0.25]] [[say slowly]]")
    assert found.drip == 0.25 and found.stall == 0.0 and not found.empty
    assert parse("[[drip 99999]]").drip == MAX_DRIP_SECONDS
    assert parse("[[drip soon]]").drip == 0.0


def test_directives_combine() -> None:
    found = parse('[[stall 0.1]] [[tool Bash {"command": "ls"}]] [[echo-model]] [[error 529]]')
    assert found.stall == 0.1
    assert found.tools[0].name == "Bash"
    assert found.texts == (TextDirective("echo-model"),)
    assert found.error == ErrorDirective(529)


@pytest.mark.parametrize(
    "text",
    [
        "[[tool]]",
        "[[tool Bash {not json}]]",
        '[[tool Bash ["a list"]]]',
        '[[tool Bash {"a": 1} trailing]]',
        "[[tool Bash",
        "[[error 200]]",
        "[[error 600]]",
        "[[error abc]]",
        "[[stall]]",
        "[[stall -1]]",
        "[[stall soon]]",
        "[[say]]",
        "[[say   ]]",
        "[[echo-systems]]",
        "[[echo-model now]]",
        "[[history",
        "[[unknown thing]]",
        "[[toolBash]]",
        "[[TOOL Bash]]",
        "[" * 5000 + "tool Bash {" + "[" * 5000,
        "[[tool Bash " + "{" * 100_000,
        "[[tool Bash " + '{"a":' * 5000,
        '[[tool Bash {"a": NaN}]]',
        '[[tool Bash {"a": Infinity}]]',
        '[[tool Bash {"a": 1e999}]]',
    ],
)
def test_malformed_directives_are_plain_text(text: str) -> None:
    assert parse(text).empty


def test_a_malformed_directive_does_not_hide_the_next_one() -> None:
    found = parse("[[tool {oops}]] [[say fine]]")
    assert found.tools == ()
    assert found.texts == (TextDirective("say", "fine"),)


@given(st.text())
def test_parse_never_raises_on_any_text(text: str) -> None:
    assert isinstance(parse(text), Directives)


_FRAGMENTS = st.sampled_from(
    ["[[", "]]", "tool", "loop", "say", "error", "stall", "echo-system", "history", " ", "{", "}",
     '"', ":", "Bash", "429", "1.5", "\n", "\\", "[", "]"]
)  # fmt: skip


@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=5)), max_size=40).map("".join))
def test_parse_never_raises_on_directive_like_text(text: str) -> None:
    assert isinstance(parse(text), Directives)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    name=st.from_regex(r"[A-Za-z0-9_]{1,20}", fullmatch=True),
    tool_input=st.dictionaries(st.text(), _JSON, max_size=4),
    before=st.text(alphabet=st.characters(exclude_characters="["), max_size=20),
    after=st.text(max_size=20),
)
def test_any_tool_directive_round_trips(
    name: str, tool_input: dict[str, object], before: str, after: str
) -> None:
    text = f"{before}[[tool {name} {json.dumps(tool_input)}]]{after}"
    assert parse(text).tools[0] == ToolDirective(name, tool_input)
