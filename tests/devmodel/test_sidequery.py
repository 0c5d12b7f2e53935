"""Side queries: short answers, JSON that fits a requested schema."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agentcontainers.devmodel.sidequery import SIDE_ANSWER, fill_schema, side_answer, wanted_schema


def test_title_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}},
        "required": ["title"],
        "additionalProperties": False,
    }
    body = {"output_config": {"format": {"type": "json_schema", "schema": schema}}}
    assert wanted_schema(body) == schema
    assert json.loads(side_answer(body)) == {"title": SIDE_ANSWER}


def test_older_output_format_field() -> None:
    body = {"output_format": {"type": "json_schema", "schema": {"type": "boolean"}}}
    assert side_answer(body) == "false"


def test_no_schema_gives_short_text() -> None:
    assert side_answer({"output_config": {"effort": "low"}}) == SIDE_ANSWER
    assert wanted_schema({"output_config": "odd"}) is None


def test_schema_kinds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "kind": {"enum": ["a", "b"]},
            "fixed": {"const": 7},
            "count": {"type": "integer", "minimum": 3},
            "ratio": {"type": ["null", "number"]},
            "flags": {"type": "array", "items": {"type": "boolean"}, "minItems": 2},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "nested": {"properties": {"note": {"type": "string"}}},
        },
    }
    assert fill_schema(schema) == {
        "kind": "a",
        "fixed": 7,
        "count": 3,
        "ratio": 0,
        "flags": [False, False],
        "either": "dev model",
        "nested": {"note": "dev model"},
    }


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "properties", "items", "enum", "anyOf", "minItems", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@given(_JSON)
def test_fill_schema_never_raises_and_is_json(schema: Any) -> None:
    json.dumps(fill_schema(schema))


@given(st.dictionaries(st.sampled_from(["output_config", "output_format"]), _JSON))
def test_side_answer_never_raises(body: dict[str, Any]) -> None:
    assert isinstance(side_answer(body), str)
