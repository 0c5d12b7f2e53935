"""``/v1/runs``: a run's status and result, its events (replayable), and cancelling it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from starlette.responses import JSONResponse

from agentcontainers.http import schemas
from agentcontainers.http.context import Caller, Context
from agentcontainers.http.sse import EventStream, last_event_id

router = APIRouter(prefix="/v1/runs", tags=["runs"])


@router.get("", response_model=schemas.RunList, responses=schemas.errors(401))
async def list_runs(context: Context, caller: Caller) -> JSONResponse:
    """The caller's runs, newest first (finished ones while they are kept)."""
    return JSONResponse({"runs": [run.public() for run in context.runs.list(caller)]})


@router.get("/{run_id}", response_model=schemas.RunInfo, responses=schemas.errors(401, 404))
async def get_run(run_id: str, context: Context, caller: Caller) -> JSONResponse:
    """The run's status, and its result when it is done."""
    return JSONResponse(context.runs.get(caller, run_id).public())


@router.post("/{run_id}/cancel", response_model=schemas.RunInfo, responses=schemas.errors(401, 404))
async def cancel_run(run_id: str, context: Context, caller: Caller) -> JSONResponse:
    """Cancel the run; answers once its process has stopped (a finished run is unchanged)."""
    run = context.runs.get(caller, run_id)
    await context.runs.cancel(run)
    return JSONResponse(run.public())


@router.get(
    "/{run_id}/events",
    response_class=Response,
    response_model=None,
    responses={
        200: schemas.event_stream(
            "The run's events after the last one seen, then live until the `result` or "
            "`error` event."
        ),
        204: {"description": "The run is over and there is nothing after Last-Event-ID."},
        **schemas.errors(400, 401, 404),
    },
)
async def run_events(
    run_id: str,
    context: Context,
    caller: Caller,
    last_event_id_query: Annotated[
        int | None, Query(alias="last_event_id", ge=0, description="Like Last-Event-ID.")
    ] = None,
    last_event_id_header: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Sent by EventSource on reconnect.")
    ] = None,
) -> Response | EventStream:
    """Follow the run as Server-Sent Events (EventSource-compatible), from the start or after
    `Last-Event-ID`. A finished run with nothing more answers 204, which stops EventSource."""
    run = context.runs.get(caller, run_id)
    query = None if last_event_id_query is None else str(last_event_id_query)
    after = last_event_id(last_event_id_header, query)
    if run.done and after >= len(run.events):
        return Response(status_code=204)
    context.runs.follow(run)
    return EventStream(
        run.follow(after), on_close=lambda: context.runs.unfollow(run), headers={"X-Run-Id": run.id}
    )
