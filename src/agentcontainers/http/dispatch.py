"""From an HTTP request to a run, and from the run to the response: sync, stream or background.

Checks that can fail before anything runs (body size, JSON, the agent, the session, the
webhook, the caller's run limit) answer with their own status; once a run has started, its
outcome is its result.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agentcontainers.errors import InvalidRequest
from agentcontainers.http.context import HttpContext
from agentcontainers.http.limits import fingerprint, idempotency_key, read_body
from agentcontainers.http.responses import result_response
from agentcontainers.http.runs import Run, RunKind
from agentcontainers.http.sse import EventStream, last_event_id
from agentcontainers.http.webhooks import check_url, resolve
from agentcontainers.request import AgentRequest, parse_request

#: Status for a response nobody will read: the client went away (nginx's convention).
CLIENT_GONE = 499


async def start_run(
    request: Request,
    context: HttpContext,
    caller: str,
    *,
    kind: RunKind,
    agent: str | None = None,
    text_deltas: bool = False,
) -> tuple[Run, bool]:
    """Parse and check the request, then start its run (or join the one its key started)."""
    body = await read_body(request, context.settings.max_body_bytes)
    key = idempotency_key(request)
    webhook_url = None
    payload: bytes | dict[str, Any] = body
    if kind == "background":
        payload, webhook_url = _split_webhook(body)
    request.state.agent = agent
    agent_request = _bind_agent(parse_request(payload), agent)
    # errors from here on name the agent, as the service's own do
    request.state.agent = agent_request.agent or context.settings.agent
    await _check(context, agent_request, caller)
    if webhook_url is not None:
        if context.settings.webhook_secret is None:
            raise InvalidRequest(
                "invalid request: field 'webhook_url' cannot be used: the operator has not set "
                "AGENTCONTAINERS_WEBHOOK_SECRET"
            )
        await resolve(check_url(webhook_url), context.runs.webhook_policy)
    idempotency = (key, fingerprint(request, body)) if key else None
    return context.runs.start(
        agent_request,
        caller=caller,
        kind=kind,
        idempotency=idempotency,
        webhook_url=webhook_url,
        text_deltas=text_deltas,
    )


async def answer_sync(request: Request, context: HttpContext, run: Run, new: bool) -> Response:
    """Wait for the result; a client that leaves releases (and so cancels) the run."""
    if not new:
        context.runs.follow(run)
    try:
        finished = await _wait_or_disconnect(request, run)
    finally:
        context.runs.unfollow(run)
    if not finished or run.result is None:
        return Response(status_code=CLIENT_GONE)
    return result_response(run.result, run_id=run.id)


def answer_stream(request: Request, context: HttpContext, run: Run, new: bool) -> EventStream:
    """Stream the run's events; a rejoining client (same key) resumes after Last-Event-ID."""
    after = 0
    if not new:
        context.runs.follow(run)
        after = last_event_id(
            request.headers.get("last-event-id"), request.query_params.get("last_event_id")
        )
    return EventStream(
        run.follow(after), on_close=lambda: context.runs.unfollow(run), headers={"X-Run-Id": run.id}
    )


def answer_background(run: Run) -> JSONResponse:
    """202 with the run, and where to watch it."""
    return JSONResponse(run.public(), status_code=202, headers={"Location": f"/v1/runs/{run.id}"})


async def _check(context: HttpContext, request: AgentRequest, caller: str) -> None:
    """What the service would refuse before running, refused here with its own status (a
    stream has answered 200 by the time its run starts)."""
    await context.service.check(request, caller)


def _bind_agent(request: AgentRequest, agent: str | None) -> AgentRequest:
    if agent is None:
        return request
    if request.agent is not None and request.agent != agent:
        raise InvalidRequest(
            f"invalid request: field 'agent' is '{request.agent}' but the URL names '{agent}'"
        )
    return request.model_copy(update={"agent": agent})


def _split_webhook(body: bytes) -> tuple[bytes | dict[str, Any], str | None]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return body, None  # parse_request names the problem
    if not isinstance(data, dict) or "webhook_url" not in data:
        return body, None
    url = data.pop("webhook_url")
    return data, url if url is None else check_url(url)


async def _wait_or_disconnect(request: Request, run: Run) -> bool:
    finished = False
    async with anyio.create_task_group() as tasks:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            tasks.cancel_scope.cancel()

        tasks.start_soon(watch)
        await run.wait()
        finished = True
        tasks.cancel_scope.cancel()
    return finished
