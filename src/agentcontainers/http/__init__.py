"""The HTTP ingress: ``/invoke`` (seed-compatible), ``/v1`` (agents, sync/streamed/background
runs, sessions, usage), health, OpenAPI and the web UI. See docs/http.md.

```
app.py        create_app(): routes, error shapes, OpenAPI, static UI
auth.py       API keys, callers, the login cookie
dispatch.py   request -> run -> sync / SSE / 202 response
runs.py       the run registry: event logs, replay, cancellation, retention
sse.py        the disconnect-aware text/event-stream response
limits.py     body size, runs per caller, Idempotency-Key
webhooks.py   signed completion webhooks with target restrictions
transcript.py Claude Code JSONL -> transcript messages
routes/       one module per resource
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcontainers.http.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from agentcontainers.http.app import create_app

        return create_app
    raise AttributeError(name)
