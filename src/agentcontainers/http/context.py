"""What every route needs: the settings, the service, the run registry, and the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyCookie, HTTPBearer

from agentcontainers.http import schemas
from agentcontainers.http.auth import COOKIE_NAME, KeyRing
from agentcontainers.http.runs import RunRegistry
from agentcontainers.service import AgentService
from agentcontainers.settings import Settings

# Declared for the OpenAPI document (and the docs page's "Authorize"); checked by KeyRing.
_BEARER = HTTPBearer(auto_error=False, description="An API key from AGENTCONTAINERS_API_KEYS.")
_COOKIE = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="Set by POST /v1/login (browsers)."
)


@dataclass
class HttpContext:
    """The application's shared state (``app.state.context``)."""

    settings: Settings
    service: AgentService
    runs: RunRegistry
    keys: KeyRing


def get_context(request: Request) -> HttpContext:
    """The application's :class:`HttpContext`."""
    context: HttpContext = request.app.state.context
    return context


async def get_caller(
    request: Request,
    _bearer: object = Security(_BEARER),
    _cookie: object = Security(_COOKIE),
) -> str:
    """The authenticated caller (``local`` without keys).

    Raises:
        Unauthorized: keys are configured and the request has no valid key or cookie.
    """
    keys = get_context(request).keys
    return keys.authenticate(request.headers.get("authorization"), request.cookies.get(COOKIE_NAME))


#: Route parameter annotations: ``context: Context, caller: Caller``.
Context = Annotated[HttpContext, Depends(get_context)]
Caller = Annotated[str, Depends(get_caller)]

#: The ``Idempotency-Key`` header of the routes that start runs, for the OpenAPI document (and
#: its pattern check); ``dispatch.start_run`` reads and honours it.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=schemas.IDEMPOTENCY_KEY_PATTERN,
        description=(
            "A retry with the same key (and body) joins the first attempt's run instead of "
            "starting another. Keys are the caller's own, kept by this process for "
            "AGENTCONTAINERS_RUN_RETENTION seconds after the run ends."
        ),
    ),
]
