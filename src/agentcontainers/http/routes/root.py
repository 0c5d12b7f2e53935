"""Health, readiness, the seed-compatible ``POST /invoke``, and the browser's login cookie."""

from __future__ import annotations

import os
from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse, JSONResponse

from agentcontainers.http import schemas
from agentcontainers.http.auth import COOKIE_NAME, COOKIE_TTL_S
from agentcontainers.http.context import Caller, Context, HttpContext, IdempotencyKey
from agentcontainers.http.dispatch import answer_sync, start_run

router = APIRouter()
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_RUN_ERRORS = schemas.errors(400, 401, 404, 409, 413, 429, 500, 502, 503, 504)


@router.get("/", include_in_schema=False)
async def index() -> Response:
    """The web UI when it is installed, else where the API is described."""
    page = STATIC_DIR / "index.html"
    if page.is_file():
        return FileResponse(page, headers={"Cache-Control": "no-cache"})
    return JSONResponse(
        {"name": "agentcontainers", "docs": "/docs", "openapi": "/openapi.json", "api": "/v1"}
    )


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, caller: Caller) -> JSONResponse:
    """The OpenAPI document; like every route but ``/healthz``, it needs a key when keys are set."""
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
async def docs(request: Request, caller: Caller) -> HTMLResponse:
    """Swagger UI for ``/openapi.json``, from the copy vendored under ``/static/vendor/``.

    FastAPI's default page loads it from a CDN, which leaves the page blank offline. The page
    fetches the document with the browser's cookie (``POST /v1/login``, the web UI's sign-in).
    """
    root = str(request.scope.get("root_path", "")).rstrip("/")
    vendor = f"{root}/static/vendor"
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} API",
        swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
        swagger_css_url=f"{vendor}/swagger-ui.css",
        swagger_favicon_url=f"{vendor}/swagger-ui-favicon-32x32.png",
        # no badge fetched from validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/healthz", response_model=schemas.Health, tags=["health"])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. Open to everyone."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=schemas.Readiness,
    responses={
        503: {"model": schemas.Readiness, "description": "Not ready."},
        **schemas.errors(401),
    },
    tags=["health"],
)
async def readyz(context: Context, caller: Caller) -> JSONResponse:
    """Readiness: the state directory is writable, the CLI is there, the default agent loads."""
    checks = await anyio.to_thread.run_sync(_readiness_checks, context)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def _readiness_checks(context: HttpContext) -> dict[str, str]:
    checks = {}
    settings = context.settings
    try:
        if settings.fs_shim:
            settings.state_dir.mkdir(parents=True, exist_ok=True)
            _ = context.service.index  # opens (and migrates) the session index
            if not os.access(settings.state_dir, os.W_OK):
                raise OSError(f"{settings.state_dir} is not writable")
        checks["state"] = "ok"
    except Exception as exc:
        checks["state"] = f"{type(exc).__name__}: {exc}"
    cli = getattr(context.service.runtime, "cli_path", None)
    if cli is None or os.access(cli, os.X_OK):
        checks["runtime"] = "ok"
    else:
        checks["runtime"] = f"the agent CLI {cli} is missing or not executable"
    try:
        context.service.agent()
        checks["agent"] = "ok"
    except Exception as exc:
        checks["agent"] = getattr(exc, "message", str(exc))
    return checks


@router.post(
    "/invoke",
    response_model=schemas.ResultBody,
    responses=_RUN_ERRORS,
    openapi_extra=schemas.json_body("AgentRequest"),
    tags=["runs"],
)
async def invoke(
    request: Request,
    context: Context,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Run one request and answer with its result (the seed's API: status = ``statusCode``)."""
    run, new = await start_run(request, context, caller, kind="sync")
    return await answer_sync(request, context, run, new)


@router.post(
    "/v1/login",
    response_model=schemas.Login,
    responses=schemas.errors(401),
    tags=["auth"],
)
async def login(
    request: Request,
    context: Context,
    caller: Caller,
) -> JSONResponse:
    """Exchange the bearer key for an HttpOnly, SameSite=Strict cookie (for EventSource)."""
    response = JSONResponse({"caller": caller})
    if context.keys.enabled:  # without keys every caller is already 'local'
        response.set_cookie(
            COOKIE_NAME,
            context.keys.cookie_for(caller),
            max_age=COOKIE_TTL_S,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


@router.post("/v1/logout", status_code=204, tags=["auth"])
async def logout(request: Request) -> Response:
    """Clear the login cookie."""
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response
