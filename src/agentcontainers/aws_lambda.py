"""The AWS Lambda ingress: ``agentcontainers.aws_lambda.handler(event, context)``.

It takes a direct invocation, whose event *is* the request (an object, or its JSON text), and
the HTTP events of API Gateway REST APIs (payload v1), HTTP APIs (v2) and function URLs, whose
body is the request (``isBase64Encoded`` bodies too). It always returns the response envelope
``{"statusCode", "headers", "multiValueHeaders", "body"}``, which all three HTTP front ends
understand; a malformed event or body is a 400 envelope, never an exception.

With ``AGENTCONTAINERS_API_KEYS`` set, HTTP events need ``Authorization: Bearer <key>`` (the
caller is the key's name); direct invocations are authorised by IAM and run as ``local``.
``GET .../healthz`` answers ``{"status": "ok"}`` without running anything.

Cold starts pay for every import, so this module imports only the standard library until the
first event arrives; the service, its settings and an event loop are then kept for the warm
invocations that follow.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from agentcontainers.result import AgentResult
    from agentcontainers.service import AgentService
    from agentcontainers.settings import Settings

log = logging.getLogger("agentcontainers.lambda")

#: Seconds kept back from the invocation's remaining time, to answer 504 before Lambda kills us.
DEADLINE_MARGIN_S = 3.0


class LambdaHandler:
    """A Lambda handler bound to one service (made on first use, kept while warm)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._service: AgentService | None = None
        self._runner: asyncio.Runner | None = None
        self._host: _ServiceHost | None = None
        self._keys: Any = None

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        """Handle one invocation; always returns an envelope."""
        try:
            return self._handle(event, context)
        except Exception as exc:  # a bug: answer 500, keep the execution environment usable
            log.exception("unhandled error in the Lambda handler")
            from agentcontainers.result import AgentResult

            return AgentResult.from_error(exc).envelope()

    def _handle(self, event: Any, context: Any) -> dict[str, Any]:
        from agentcontainers.errors import AgentContainersError
        from agentcontainers.request import parse_request
        from agentcontainers.result import AgentResult

        settings = self.settings
        try:
            if not is_http_event(event):
                request = parse_request(event)
                caller = "local"
            else:
                method, path = http_route(event)
                if method == "GET" and path.rstrip("/").endswith("/healthz"):
                    return _json_envelope(200, {"status": "ok"})
                caller = self._caller(event)
                request = parse_request(http_body(event, settings.max_body_bytes))
        except AgentContainersError as exc:
            return AgentResult.from_error(exc, agent=_agent_of(event)).envelope()
        result = self._invoke(request, caller, _time_left(context))
        return result.envelope()

    @property
    def settings(self) -> Settings:
        """The operator's settings (read from the environment on first use)."""
        if self._settings is None:
            from agentcontainers.settings import Settings

            self._settings = Settings.from_env()
        return self._settings

    def _caller(self, event: dict[str, Any]) -> str:
        if self._keys is None:
            from agentcontainers.http.auth import KeyRing

            api_keys = self.settings.api_keys
            self._keys = KeyRing(api_keys.get_secret_value() if api_keys else None)
        caller: str = self._keys.authenticate(http_headers(event).get("authorization"), None)
        return caller

    def _invoke(self, request: Any, caller: str, timeout_s: float | None) -> AgentResult:
        import asyncio

        from agentcontainers.service import AgentService

        if self._runner is None:
            # One loop for the life of the execution environment, and one task holding the
            # service open in it: what the service starts (the embedded MCP gateway) outlives
            # the invocation that first needs it, and warm invocations reuse it.
            self._runner = asyncio.Runner()
            self._service = AgentService(self.settings)
            self._host = self._runner.run(_open(self._service))
        assert self._service is not None
        invocation = self._service.invoke(request, caller=caller, timeout_s=timeout_s)
        return self._runner.run(invocation)

    def close(self) -> None:
        """Release the service and the loop (tests; Lambda just freezes the process)."""
        if self._runner is not None:
            if self._host is not None:
                self._runner.run(self._host.close())
            self._runner.close()
        self._runner = None
        self._service = None
        self._host = None


class _ServiceHost:
    """A task that holds an :class:`AgentService` entered until :meth:`close`."""

    def __init__(self, task: asyncio.Task[None], stop: asyncio.Event) -> None:
        self.task = task
        self.stop = stop

    async def close(self) -> None:
        self.stop.set()
        await self.task


async def _open(service: AgentService) -> _ServiceHost:
    import asyncio

    entered, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with service:
            entered.set()
            await stop.wait()

    task = asyncio.get_running_loop().create_task(hold())
    await entered.wait()
    return _ServiceHost(task, stop)


def is_http_event(event: Any) -> bool:
    """True for API Gateway (v1, v2) and function URL events, false for direct invocations."""
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        return False
    return "httpMethod" in event or event.get("version") in ("1.0", "2.0")


def http_route(event: dict[str, Any]) -> tuple[str, str]:
    """``(method, path)`` of an HTTP event."""
    http = event["requestContext"].get("http")
    if isinstance(http, dict):  # v2 and function URLs
        return str(http.get("method") or "").upper(), str(http.get("path") or event.get("rawPath"))
    return str(event.get("httpMethod") or "").upper(), str(event.get("path") or "")


def http_headers(event: dict[str, Any]) -> dict[str, str]:
    """The event's headers, names in lower case (v1 events may carry ``null``)."""
    headers: dict[str, str] = {}
    for source in (event.get("multiValueHeaders"), event.get("headers")):
        if isinstance(source, dict):
            for name, value in source.items():
                if isinstance(value, list):
                    value = value[-1] if value else ""
                if isinstance(name, str) and isinstance(value, str):
                    headers[name.lower()] = value
    return headers


def http_body(event: dict[str, Any], limit: int) -> bytes:
    """The request bytes in an HTTP event's body (base64-decoded when flagged).

    Raises:
        InvalidRequest: no body, or a body that is not a string or not valid base64.
        PayloadTooLarge: the body is over ``limit`` bytes.
    """
    from agentcontainers.errors import InvalidRequest, PayloadTooLarge

    body = event.get("body")
    if body is None or body == "":
        raise InvalidRequest("invalid request: the HTTP request has no body; send the request JSON")
    if not isinstance(body, str):
        raise InvalidRequest("invalid request: the event's body must be a string")
    if event.get("isBase64Encoded") is True:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("invalid request: the body is flagged base64 but is not") from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > limit:
        raise PayloadTooLarge(f"the request body is {len(raw)} bytes, over the limit of {limit}")
    return raw


def _agent_of(event: Any) -> str | None:
    if isinstance(event, dict) and isinstance(event.get("agent"), str):
        return str(event["agent"])
    return None


def _time_left(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    try:
        return max(float(remaining()) / 1000 - DEADLINE_MARGIN_S, 1.0)
    except (TypeError, ValueError):
        return None


def _json_envelope(status: int, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    return {
        "statusCode": status,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "body": json.dumps(body),
    }


_default: LambdaHandler | None = None


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """The Lambda entry point (``agentcontainers.aws_lambda.handler``)."""
    global _default
    if _default is None:
        _default = LambdaHandler()
    return _default(event, context)
