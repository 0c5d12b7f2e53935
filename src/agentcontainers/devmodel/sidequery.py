"""Answers to the CLI's side queries: requests that offer no ``tools`` at all.

The Claude Code CLI asks the model for small things besides the agent loop (a session title,
summaries, classifications), always without a ``tools`` field. They may quote the user's prompt,
so directives in them are not obeyed: the answer is short, and when the request asks for
structured output (``output_config.format`` with a JSON schema) it is JSON that fits the schema.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SIDE_ANSWER", "fill_schema", "side_answer", "wanted_schema"]

SIDE_ANSWER = "Dev model session"
_MAX_DEPTH = 8


def wanted_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request wants its answer to fit, if any.

    Args:
        body: The request body.

    Returns:
        The schema from ``output_config.format`` (or the older ``output_format``), or None.
    """
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if not isinstance(fmt, dict):
        fmt = body.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else {}
    return None


def fill_schema(schema: Any, name: str = "", depth: int = 0) -> Any:
    """A small deterministic value that fits a JSON schema.

    Args:
        schema: A JSON schema (unsupported parts are ignored).
        name: The property name the value is for (``title`` gets a title-like string).
        depth: Recursion depth; deep schemas end in null.

    Returns:
        A JSON-serialisable value.
    """
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return fill_schema(options[0], name, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and isinstance(schema.get("properties"), dict)):
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {
            str(key): fill_schema(value, str(key), depth + 1) for key, value in properties.items()
        }
    if kind == "array":
        count = schema.get("minItems", 0)
        count = count if isinstance(count, int) and 0 <= count <= 8 else 0
        return [fill_schema(schema.get("items"), name, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        return low if isinstance(low, int | float) and not isinstance(low, bool) else 0
    if kind == "boolean":
        return False
    if kind == "string":
        return SIDE_ANSWER if name in ("", "title", "name", "summary") else "dev model"
    return None


def side_answer(body: dict[str, Any]) -> str:
    """The text answering a side query (JSON when a schema is wanted).

    Args:
        body: The request body.

    Returns:
        A short text.
    """
    schema = wanted_schema(body)
    if schema is None:
        return SIDE_ANSWER
    return json.dumps(fill_schema(schema), ensure_ascii=False)
