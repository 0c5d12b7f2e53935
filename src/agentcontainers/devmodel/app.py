"""The dev model's ASGI app: the Messages API endpoints the Claude Code CLI calls.

Routes:
    ``POST /v1/messages``               the answer (JSON, or SSE with ``"stream": true``)
    ``POST /v1/messages/count_tokens``  ``{"input_tokens": N}``, about four bytes a token
    ``GET  /v1/models[/{id}]``          a small model list
    ``GET/DELETE /_dev/requests``       the recorded requests (newest last; optional query
                                        ``path``, ``session``, ``limit``) / clear them
    ``HEAD/GET /api/hello``, ``GET /``  liveness
Anything else is a JSON 404 (or 405) in the Anthropic error shape, never a 500.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentcontainers.devmodel import wire
from agentcontainers.devmodel.conversation import current_turn, system_text, tool_names
from agentcontainers.devmodel.directives import no_constants, strict_float
from agentcontainers.devmodel.planner import Plan, error_body, plan

__all__ = ["DEV_MODELS", "RECORD_LIMIT", "create_app"]

RECORD_LIMIT = 200
DEV_MODELS = ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-4-5", "dev-model")
_HIDDEN_HEADERS = frozenset({"x-api-key", "authorization", "cookie", "proxy-authorization"})
_ERROR_MEMORY = 1024
_STALL_SLICE = 0.25
_BULKY = frozenset({"messages", "system", "tools"})
_KNOWN = frozenset({"/v1/messages", "/v1/messages/count_tokens", "/v1/models", "/_dev/requests"})


class _StandInHeader:
    """ASGI middleware adding ``X-Dev-Model: stand-in`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-dev-model", b"stand-in")]
            await send(message)

        await self.app(scope, receive, send_with_header)


class _State:
    """The dev model's memory: recorded requests and fired-error counts."""

    def __init__(self) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=RECORD_LIMIT)
        self.errors: OrderedDict[str, int] = OrderedDict()
        self.ids = itertools.count(1)

    def record(self, request: Request, body: Any) -> None:
        data = body if isinstance(body, dict) else {}
        messages = data.get("messages")
        self.records.append(
            {
                "time": time.time(),
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "model": data.get("model") if isinstance(data.get("model"), str) else None,
                "stream": data.get("stream") is True,
                "system": system_text(data.get("system")),
                "prompt": current_turn(messages).prompt,
                "messages": messages if isinstance(messages, list) else [],
                "tools": tool_names(data.get("tools")),
                "max_tokens": data.get("max_tokens"),
                "params": {k: v for k, v in data.items() if k not in _BULKY},
                "headers": {
                    k: v for k, v in request.headers.items() if k.lower() not in _HIDDEN_HEADERS
                },
            }
        )

    def should_fail(self, key: str, times: int | None) -> bool:
        """Count one more request for ``key``; True while it is within the first ``times``."""
        if times is None:
            return True
        seen = self.errors.pop(key, 0)
        self.errors[key] = seen + 1
        while len(self.errors) > _ERROR_MEMORY:
            self.errors.popitem(last=False)
        return seen < times


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


async def _json_body(request: Request) -> tuple[bytes, dict[str, Any]]:
    raw = await request.body()
    try:
        body = json.loads(raw, parse_float=strict_float, parse_constant=no_constants)
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HTTPException(400, "request body must be a JSON object")
    return raw, body


def _validate(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise HTTPException(400, "model: field required (a non-empty string)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise HTTPException(400, "messages: field required (a list of message objects)")


def create_app() -> Starlette:
    """Build a fresh dev model app with its own (empty) request record.

    Returns:
        The ASGI app; every response carries ``X-Dev-Model: stand-in``.
    """
    state = _State()

    async def messages(request: Request) -> Response:
        raw, body = await _json_body(request)
        state.record(request, body)
        _validate(body)
        answer = plan(body)
        if answer.stall and await _stall(request, answer.stall):
            return _error(499, "client went away during [[stall]]")
        request_id = f"req_dev_{next(state.ids):06d}"
        session = request.headers.get("x-claude-code-session-id", "")
        if answer.error is not None and state.should_fail(
            f"{session}:{answer.message_id}:{answer.error.status}", answer.error.times
        ):
            return _fail(answer, request_id)
        input_tokens = wire.estimate_tokens(len(raw))
        headers = {"request-id": request_id}
        if body.get("stream") is True:
            events = wire.sse_events(answer, input_tokens)
            return StreamingResponse(
                _stream(events, answer.drip), media_type="text/event-stream", headers=headers
            )
        return JSONResponse(wire.message(answer, input_tokens), headers=headers)

    async def count_tokens(request: Request) -> Response:
        raw, body = await _json_body(request)
        state.record(request, body)
        _validate(body)
        return JSONResponse({"input_tokens": wire.estimate_tokens(len(raw))})

    async def models(request: Request) -> Response:
        data = [_model(m) for m in DEV_MODELS]
        return JSONResponse(
            {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
        )

    async def one_model(request: Request) -> Response:
        return JSONResponse(_model(request.path_params["model_id"]))

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.records.clear()
            state.errors.clear()
            return Response(status_code=204)
        return JSONResponse(_select(list(state.records), request.query_params))

    async def hello(request: Request) -> Response:
        return JSONResponse(
            {"service": "agentcontainers dev model", "stand_in_for": "Anthropic Messages API"}
        )

    async def unknown(request: Request) -> Response:
        state.record(request, None)
        path = request.url.path
        if path in _KNOWN:
            raise HTTPException(405, f"{request.method} {path}: method not allowed")
        raise HTTPException(404, f"{request.method} {path}: no such endpoint")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    routes = [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", one_model, methods=["GET"]),
        Route("/_dev/requests", requests, methods=["GET", "DELETE"]),
        Route("/api/hello", hello, methods=["GET", "HEAD"]),
        Route("/", hello, methods=["GET", "HEAD"]),
        Route(
            "/{path:path}",
            unknown,
            methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(_StandInHeader)],
        exception_handlers={HTTPException: http_error},
    )


def _fail(answer: Plan, request_id: str) -> Response:
    assert answer.error is not None
    status = answer.error.status
    headers = {"request-id": request_id}
    if status in (429, 529):
        headers["retry-after"] = "1"
    message = f"dev model: [[error {status}]] directive (a scripted failure, not a real one)"
    return _error(status, message, headers)


def _select(records: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """Keep the records matching ``path`` and ``session`` (a CLI session id), newest ``limit``."""
    if "path" in query:
        records = [r for r in records if r["path"] == query["path"]]
    if "session" in query:
        session = query["session"]
        records = [r for r in records if r["headers"].get("x-claude-code-session-id") == session]
    limit = query.get("limit", "")
    if limit.isdigit():
        records = records[len(records) - min(int(limit), len(records)) :]
    return records


def _model(model_id: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": f"{model_id} (dev model stand-in)",
        "created_at": "2025-01-01T00:00:00Z",
    }


async def _stall(request: Request, seconds: float) -> bool:
    """Sleep ``seconds``, waking early when the client disconnects; True if it did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(left, _STALL_SLICE))
        if await request.is_disconnected():
            return True
    return False


async def _stream(events: list[bytes], drip: float = 0.0) -> AsyncIterator[bytes]:
    for number, event in enumerate(events):
        if drip and number:
            await asyncio.sleep(drip)
        yield event
