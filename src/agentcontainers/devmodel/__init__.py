"""The dev model: a deterministic, scriptable stand-in for the Anthropic Messages API.

It lets the real Claude Code CLI run offline (``ANTHROPIC_BASE_URL=http://127.0.0.1:PORT``) for
the test suite, ``make demo`` without a key, and benchmarks. It is not Claude and says so: every
response carries ``X-Dev-Model: stand-in`` and the default answer names itself.

Serve it with ``agentcontainers dev-model [--host H] [--port P]`` (or
``python -m agentcontainers.devmodel``); build the ASGI app with :func:`create_app`.

What it answers
---------------
The prompt is the newest ``user`` message holding text (``<system-reminder>`` blocks stripped);
a ``user`` message holding ``tool_result`` blocks continues the turn in progress. Directives,
written anywhere in the prompt in double brackets, script the answer:

``[[tool NAME {json}]]``
    Answer with a ``tool_use`` block for tool NAME with that input (a JSON object, optional).
    Several run in sequence, one per model turn. After the last tool result the answer is text
    with one line per call, ``tool NAME returned: <result text>`` or, for an ``is_error``
    result (a refused or unknown tool, a failed command), ``tool NAME failed: <text>``.
``[[loop NAME {json}]]``
    Call that tool on every turn, forever (after any ``tool`` directives): tests max-turns.
``[[echo-system]]``
    The system prompt received (its text blocks joined by newlines).
``[[echo-tools]]``
    The sorted names of the tools offered, joined by ``", "``.
``[[echo-model]]``
    The model name requested.
``[[history]]``
    ``turns: N`` then ``i: <prompt>`` for each user prompt of the conversation, oldest first,
    the current one last (proves a resumed session reached the model with its earlier turns).
``[[error STATUS]]`` / ``[[error STATUS N]]``
    Answer HTTP STATUS (400-599) with the Anthropic error JSON (``rate_limit_error`` for 429,
    ``overloaded_error`` for 529, ``api_error`` for 500, ...) and ``retry-after: 1`` on 429 and
    529. With N, only the first N identical requests fail (retries then succeed).
``[[stall SECONDS]]``
    Wait that long (at most 3600, without blocking other requests) before each answer to this
    prompt; combines with the others.
``[[drip SECONDS]]``
    Stream the answer slowly: wait that long (at most 60) between its SSE events, so a client
    can be seen showing a reply while it arrives. Streamed requests only.
``[[say TEXT]]``
    Answer TEXT (everything up to the first ``]]``, surrounding whitespace trimmed).

Text-producing directives (``say``, ``echo-*``, ``history``) are answered in order, one line
each, after the tool result lines. No directive: a friendly answer that says it is the
AgentContainers dev model standing in for Claude and quotes the prompt, prefixed with
``Speaking as NAME:`` when the system prompt gives a persona ("You are NAME"). Unknown or
malformed directives are plain text.

A request without a ``tools`` field is one of the CLI's side queries (a session title, ...): its
directives are not obeyed; it gets a short answer, or JSON fitting a requested output schema.

Endpoints
---------
``POST /v1/messages`` (JSON or SSE), ``POST /v1/messages/count_tokens``, ``GET /v1/models``,
``GET /v1/models/{id}``, ``GET /_dev/requests`` (the last 200 requests recorded: path, model,
system text, prompt, messages, tool names, headers without credentials), ``DELETE
/_dev/requests``, ``HEAD /api/hello``. Usage counts about four bytes a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["create_app"]


def create_app() -> Starlette:
    """Build the dev model's ASGI app (imports Starlette on first use).

    Returns:
        A new app with an empty request record.
    """
    from agentcontainers.devmodel.app import create_app as build

    return build()
