"""Responses: results and errors in the response contract's shape, with their status."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from agentcontainers.errors import AgentContainersError, Unauthorized
from agentcontainers.result import AgentResult


def result_response(result: AgentResult, *, run_id: str | None = None) -> JSONResponse:
    """The result body with its status and headers (``Retry-After`` where known)."""
    headers = dict(result.headers)
    if run_id is not None:
        headers["X-Run-Id"] = run_id
    if isinstance(result.error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="agentcontainers"'
    return JSONResponse(result.body, status_code=result.status, headers=headers)


def error_response(
    error: BaseException,
    *,
    agent: str | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error in the result shape (``is_error``, ``subtype: error_<code>``, ``error``)."""
    response = result_response(AgentResult.from_error(error, agent=agent))
    if status is not None:
        response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def http_error(status: int, code: str, message: str, **headers: Any) -> JSONResponse:
    """An error for a status the service's error types do not cover (404 route, 405)."""
    return error_response(
        AgentContainersError(message, code=code),
        status=status,
        headers={k.replace("_", "-"): str(v) for k, v in headers.items()},
    )
