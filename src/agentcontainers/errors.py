"""Errors, in three families, each carrying a stable ``code``.

```
AgentContainersError
├── ConfigError                 the operator's setup is wrong (bad persona, bad settings)
├── StateUnavailable            503  shared state (the session database) cannot be reached
├── RequestError                the caller's request cannot be served
│   ├── InvalidRequest          400  bad JSON, wrong type, unknown field, env key denied
│   ├── Unauthorized            401  missing or wrong credentials
│   ├── Forbidden               403
│   ├── NotFound                404  unknown agent, unknown or someone else's session
│   ├── SessionBusy             409  another turn of this session is running
│   ├── PayloadTooLarge         413
│   └── RateLimited             429  too many concurrent runs, budget exhausted
└── RunError                    the run itself failed
    ├── ModelAPIError           502/503  the model API failed (429/529/5xx upstream)
    ├── RunTimeout              504  the run passed its wall-clock limit
    ├── RunCancelled            499  the caller went away or cancelled
    └── RuntimeCrashed          502  the agent process died without a result
```

Status codes are chosen from the type in one place, :func:`agentcontainers.result.status_for`.
Exceptions from libraries are translated at the boundary that calls them, ``raise ... from exc``.
"""

from __future__ import annotations


class AgentContainersError(Exception):
    """Base of every error this package raises on purpose."""

    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(AgentContainersError):
    """The operator's configuration is invalid (a persona, a setting)."""

    code = "config"


class StateUnavailable(AgentContainersError):
    """The service's shared state (the PostgreSQL session index) cannot be reached now."""

    code = "state_unavailable"


class RequestError(AgentContainersError):
    """The request cannot be served as sent."""

    code = "invalid_request"


class InvalidRequest(RequestError):
    """Malformed or disallowed request content."""

    code = "invalid_request"


class Unauthorized(RequestError):
    """Missing or wrong credentials."""

    code = "unauthorized"


class Forbidden(RequestError):
    """Credentials are valid but do not allow this."""

    code = "forbidden"


class NotFound(RequestError):
    """An unknown agent or session (another caller's session is unknown too)."""

    code = "not_found"


class SessionBusy(RequestError):
    """Another turn of the same session is running."""

    code = "session_busy"


class PayloadTooLarge(RequestError):
    """The request or one of its fields is over the size limit."""

    code = "too_large"


class RateLimited(RequestError):
    """Too many concurrent runs, or a budget is exhausted."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class RunError(AgentContainersError):
    """The run started but did not produce a result."""

    code = "run_failed"


class ModelAPIError(RunError):
    """The model API failed; ``upstream_status`` is what it answered (429, 529, 500...)."""

    code = "model_api_error"

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        retry_after: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.upstream_status = upstream_status
        self.retry_after = retry_after


class RunTimeout(RunError):
    """The run passed its wall-clock limit and was stopped."""

    code = "timeout"


class RunCancelled(RunError):
    """The run was cancelled by its caller."""

    code = "cancelled"


class RuntimeCrashed(RunError):
    """The agent process ended without a result (killed, crashed)."""

    code = "runtime_crashed"
