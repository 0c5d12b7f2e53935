"""``/v1/agents``: the personas, and running one synchronously, streamed or in the background."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request, Response
from starlette.responses import JSONResponse

from agentcontainers.agents import discover
from agentcontainers.http import schemas
from agentcontainers.http.context import Caller, Context, IdempotencyKey
from agentcontainers.http.dispatch import answer_background, answer_stream, answer_sync, start_run
from agentcontainers.http.sse import EventStream

router = APIRouter(prefix="/v1/agents", tags=["agents"])

_RUN_ERRORS = schemas.errors(400, 401, 404, 409, 413, 429, 500, 502, 503, 504)
_STREAM_DOC = (
    "Events, each with `id: <n>`: `run` ({run_id, session_id, agent}), `init`, `text`, "
    "`tool_use`, `tool_result`, then `result` (the result body) or `error` (an error-shaped "
    "result body). With `text_deltas=true`, also `text_delta` ({text, parent_tool_use_id}): "
    "pieces of assistant text as the model writes them, each message's pieces followed by its "
    "whole `text`."
)
_TEXT_DELTAS = Query(
    description=(
        "Also record `text_delta` events (pieces of assistant text as the model writes them) "
        "in the run's event stream, before each whole `text` event."
    )
)


@router.get("", response_model=schemas.AgentList, responses=schemas.errors(401))
async def list_agents(context: Context, caller: Caller) -> JSONResponse:
    """The personas this service runs."""
    agents = await anyio.to_thread.run_sync(discover, context.settings.agents_dirs)
    return JSONResponse({"agents": [agent.summary() for agent in agents.values()]})


@router.get("/{name}", response_model=schemas.AgentSummary, responses=schemas.errors(401, 404))
async def describe_agent(name: str, context: Context, caller: Caller) -> JSONResponse:
    """One persona."""
    agent = await anyio.to_thread.run_sync(context.service.agent, name)
    summary: dict[str, Any] = agent.summary()
    return JSONResponse(summary)


@router.post(
    "/{name}/invoke",
    response_model=schemas.ResultBody,
    responses=_RUN_ERRORS,
    openapi_extra=schemas.json_body("AgentRequest"),
)
async def invoke_agent(
    name: str,
    request: Request,
    context: Context,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Run the agent and answer with the result. A client that disconnects cancels the run."""
    run, new = await start_run(request, context, caller, kind="sync", agent=name)
    return await answer_sync(request, context, run, new)


@router.post(
    "/{name}/stream",
    response_class=Response,
    response_model=None,
    responses={
        200: schemas.event_stream(_STREAM_DOC),
        **schemas.errors(400, 401, 404, 413, 429),
    },
    openapi_extra=schemas.json_body("AgentRequest"),
)
async def stream_agent(
    name: str,
    request: Request,
    context: Context,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
    last_event_id: Annotated[
        int | None, Query(ge=0, description="With an Idempotency-Key: resume after this event.")
    ] = None,
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="With an Idempotency-Key: resume after this event (like the query).",
        ),
    ] = None,
    text_deltas: Annotated[bool, _TEXT_DELTAS] = False,
) -> EventStream:
    """Run the agent, streaming its events as Server-Sent Events.

    If the client drops, the run goes on for AGENTCONTAINERS_RECONNECT_GRACE seconds: follow it
    again with `GET /v1/runs/{run_id}/events` and `Last-Event-ID`. Nobody back: it is cancelled.
    """
    run, new = await start_run(
        request, context, caller, kind="stream", agent=name, text_deltas=text_deltas
    )
    return answer_stream(request, context, run, new)


@router.post(
    "/{name}/runs",
    status_code=202,
    response_model=schemas.RunInfo,
    responses=schemas.errors(400, 401, 404, 413, 429),
    openapi_extra=schemas.json_body("RunRequest"),
)
async def start_background_run(
    name: str,
    request: Request,
    context: Context,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
    text_deltas: Annotated[bool, _TEXT_DELTAS] = False,
) -> Response:
    """Start a background run: 202 at once, then poll, follow its events, or await a webhook."""
    run, _ = await start_run(
        request, context, caller, kind="background", agent=name, text_deltas=text_deltas
    )
    return answer_background(run)
