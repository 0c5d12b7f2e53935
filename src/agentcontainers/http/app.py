"""The ASGI application: routes, errors in the response contract's shape, OpenAPI, static UI.

Build it with :func:`create_app` (settings passed in, or read from the environment); serve it
with ``agentcontainers serve`` or any ASGI server (``uvicorn --factory
agentcontainers.http.app:create_app``). The lifespan owns the run registry: stopping the app
cancels every run still going, and their CLI processes with them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match

from agentcontainers.errors import AgentContainersError, InvalidRequest
from agentcontainers.http import schemas
from agentcontainers.http.auth import KeyRing
from agentcontainers.http.context import HttpContext
from agentcontainers.http.dispatch import CLIENT_GONE
from agentcontainers.http.responses import error_response, http_error
from agentcontainers.http.routes import agents, root, runs, sessions
from agentcontainers.http.runs import RunRegistry
from agentcontainers.service import AgentService
from agentcontainers.settings import Settings

log = logging.getLogger("agentcontainers.http")

DESCRIPTION = """\
Run AI agents (the Claude Code CLI) over HTTP.

With `AGENTCONTAINERS_API_KEYS` set, every route but `/healthz` needs
`Authorization: Bearer <key>` (or the cookie `POST /v1/login` sets). Every error answers in the
result shape: `is_error: true`, `subtype: "error_<code>"`, `result` (one sentence) and
`error: {code, message}`.
"""


def create_app(settings: Settings | None = None, *, service: AgentService | None = None) -> FastAPI:
    """The HTTP API for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    keys = KeyRing(settings.api_keys.get_secret_value() if settings.api_keys else None)
    service = service or AgentService(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The service is entered here, in the lifespan's task, so that what it starts (the
        # embedded MCP gateway) outlives the run that first needs it.
        async with service, RunRegistry(service, settings) as registry:
            app.state.context = HttpContext(settings, service, registry, keys)
            yield

    app = FastAPI(
        title="AgentContainers",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        # both served by routes.root: behind the API keys, and the docs page from the vendored
        # Swagger UI rather than a CDN
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(root.router)
    app.include_router(agents.router)
    app.include_router(runs.router)
    app.include_router(sessions.router)
    app.mount("/static", StaticFiles(directory=root.STATIC_DIR, check_dir=False), name="static")
    _add_error_handlers(app)
    _customise_openapi(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AgentContainersError)
        return error_response(exc, agent=_agent_of(request))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(InvalidRequest(_describe(exc)), agent=_agent_of(request))

    async def http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return http_error(404, "not_found", f"no route {request.url.path}")
        if exc.status_code == 405:
            allow = ", ".join(_allowed_methods(request))
            return http_error(
                405, "method_not_allowed", f"method {request.method} is not allowed here",
                Allow=allow,
            )  # fmt: skip
        code = "too_large" if exc.status_code == 413 else "http_error"
        return http_error(exc.status_code, code, str(exc.detail))

    async def client_gone(request: Request, exc: Exception) -> Response:
        return Response(status_code=CLIENT_GONE)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(exc)

    app.add_exception_handler(AgentContainersError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_exception)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(Exception, unexpected)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "_"})
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def _agent_of(request: Request) -> str | None:
    agent = getattr(request.state, "agent", None) or request.path_params.get("name")
    return str(agent) if agent else None


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = [str(p) for p in error.get("loc", ())]
        place = f"{where[0]} '{'.'.join(where[1:])}'" if len(where) > 1 else "request"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        parts.append(f"{place}: {message}")
    return "invalid request: " + "; ".join(parts)


def _customise_openapi(app: FastAPI) -> None:
    """Request bodies from the contract's models; 400 (not FastAPI's 422) for bad parameters."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = FastAPI.openapi(app)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(schemas.request_schemas())
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        error = {"$ref": "#/components/schemas/ResultBody"}
        for path in document.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None and "400" not in responses:
                    responses["400"] = {
                        "description": "Invalid request: the message names the parameter.",
                        "content": {"application/json": {"schema": error}},
                    }
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agentcontainers")
    except PackageNotFoundError:
        return "0"
