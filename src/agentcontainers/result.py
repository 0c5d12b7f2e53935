"""The response contract: the Claude Code result object passed through, plus ``agent``.

Errors raised before or around a run get the same shape (``is_error: true``,
``subtype: "error_<code>"``, ``result``: one plain sentence, ``error: {code, message}``). The
status of each outcome is chosen here, from the error's type, for every ingress.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentcontainers import errors

_STATUS: list[tuple[type[errors.AgentContainersError], int]] = [
    (errors.InvalidRequest, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.SessionBusy, 409),
    (errors.PayloadTooLarge, 413),
    (errors.RateLimited, 429),
    (errors.RequestError, 400),
    (errors.RunTimeout, 504),
    (errors.RunCancelled, 499),
    (errors.RuntimeCrashed, 502),
    (errors.ConfigError, 500),
    (errors.StateUnavailable, 503),
]


def status_for(error: BaseException | None) -> int:
    """The HTTP status (also the envelope's ``statusCode``) for an outcome."""
    if error is None:
        return 200
    if isinstance(error, errors.ModelAPIError):
        # Upstream overload or rate limit: the service is unavailable for now; else bad gateway.
        return 503 if error.upstream_status in (429, 529, 503) else 502
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def _blank_body(agent: str | None) -> dict[str, Any]:
    return {
        "type": "result",
        "subtype": "error_internal",
        "is_error": True,
        "duration_ms": 0,
        "duration_api_ms": 0,
        "num_turns": 0,
        "result": "",
        "session_id": None,
        "total_cost_usd": 0.0,
        "usage": {"input_tokens": 0, "output_tokens": 0},
        "agent": agent,
    }


@dataclass
class AgentResult:
    """The outcome of one request: the body, and the error that shaped it if any."""

    body: dict[str, Any]
    error: errors.AgentContainersError | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_error(
        cls,
        error: BaseException,
        *,
        agent: str | None = None,
        base: dict[str, Any] | None = None,
    ) -> AgentResult:
        """The error-shaped result; ``base`` is a partial Claude Code result to keep."""
        if not isinstance(error, errors.AgentContainersError):
            error = errors.AgentContainersError(
                "internal error: the service failed unexpectedly; it has been logged"
            )
        body = {**_blank_body(agent), **(base or {})}
        body.update(
            is_error=True,
            subtype=base["subtype"]
            if base and str(base.get("subtype", "")).startswith("error_")
            else f"error_{error.code}",
            result=_sentence(error.message),
            error={"code": error.code, "message": error.message},
            agent=agent if agent is not None else body.get("agent"),
        )
        return cls(body=body, error=error)

    @property
    def status(self) -> int:
        """HTTP status / envelope ``statusCode``."""
        return status_for(self.error)

    @property
    def ok(self) -> bool:
        """True for status 200 and ``is_error`` false (the CLI's exit code 0)."""
        return self.status == 200 and not self.body.get("is_error")

    @property
    def headers(self) -> dict[str, str]:
        """Response headers beyond the content type (``Retry-After`` where known)."""
        headers = dict(self.extra_headers)
        retry_after = getattr(self.error, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return headers

    def envelope(self) -> dict[str, Any]:
        """The API Gateway-style envelope printed by the CLI and returned by Lambda."""
        headers = {"Content-Type": "application/json", **self.headers}
        return {
            "statusCode": self.status,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "body": json.dumps(self.body, ensure_ascii=False),
        }


def _sentence(message: str) -> str:
    text = message.strip().removeprefix("invalid request: ")
    text = text[:1].upper() + text[1:] if text else "The request failed"
    return text if text.endswith((".", "!", "?")) else text + "."
