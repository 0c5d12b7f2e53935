"""``/v1/sessions`` and ``/v1/usage``: the caller's sessions, their transcripts, and costs."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Response
from starlette.responses import JSONResponse

from agentcontainers.http import schemas
from agentcontainers.http.context import Caller, Context
from agentcontainers.http.transcript import read_transcript

router = APIRouter(prefix="/v1", tags=["sessions"])


@router.get("/sessions", response_model=schemas.SessionList, responses=schemas.errors(400, 401))
async def list_sessions(
    context: Context,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> JSONResponse:
    """The caller's sessions, most recently used first."""
    records = await context.service.list_sessions(caller, limit=limit, offset=offset)
    sessions = [record.public() for record in records]
    return JSONResponse({"sessions": sessions, "limit": limit, "offset": offset})


@router.get(
    "/sessions/{session_id}",
    response_model=schemas.SessionDetail,
    responses=schemas.errors(401, 404),
)
async def get_session(
    session_id: str,
    context: Context,
    caller: Caller,
) -> JSONResponse:
    """The session and its transcript (user and assistant messages, tool calls and results)."""
    record = await context.service.get_session(caller, session_id)
    path = context.service.transcript_path(record)
    transcript = await anyio.to_thread.run_sync(read_transcript, path)
    return JSONResponse({**record.public(), "transcript": transcript})


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    response_class=Response,
    responses=schemas.errors(401, 404, 409),
)
async def delete_session(
    session_id: str,
    context: Context,
    caller: Caller,
) -> Response:
    """Delete the session: its record, transcript and workspace (409 while a turn runs)."""
    await context.service.delete_session(caller, session_id)
    return Response(status_code=204)


@router.get("/usage", response_model=schemas.Usage, responses=schemas.errors(401))
async def usage(context: Context, caller: Caller) -> JSONResponse:
    """The caller's cost and token usage, per agent."""
    totals: dict[str, Any] = await context.service.usage(caller)
    return JSONResponse(totals)
