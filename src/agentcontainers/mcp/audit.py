"""Record every call through the gateway: who, what, how long, how it ended.

One JSON object per line on the ``agentcontainers.mcp.audit`` logger::

    {"event": "mcp.call", "server": "everything", "method": "tools/call", "name": "echo",
     "persona": "assistant", "duration_ms": 3.1, "outcome": "ok"}

``outcome`` is ``ok``, ``tool_error`` (the tool answered ``isError``), ``denied``,
``unknown``, ``unavailable``, ``timeout``, ``rejected`` or ``error``. Argument values are left
out unless the operator turns them on (``AGENTCONTAINERS_MCP_AUDIT_ARGS=1``): they may hold
personal data.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from agentcontainers.mcp.base import (
    Backend,
    Notify,
    UnknownComponent,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
    WrapperBackend,
    component_name,
)
from agentcontainers.mcp.filtered import Denied

audit_logger = logging.getLogger("agentcontainers.mcp.audit")


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, Denied):
        return "denied"
    if isinstance(exc, UnknownComponent):
        return "unknown"
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    if isinstance(exc, UpstreamUnavailable):
        return "unavailable"
    if isinstance(exc, UpstreamRejected):
        return "rejected"
    return "error"


class AuditedBackend(WrapperBackend):
    """``wrapped`` with each request written to the audit log."""

    def __init__(
        self,
        wrapped: Backend,
        *,
        persona: str | None,
        arguments: bool = False,
        logger: logging.Logger = audit_logger,
    ) -> None:
        super().__init__(wrapped)
        self.persona = persona
        self.arguments = arguments
        self.logger = logger

    async def request(
        self, method: str, params: dict[str, Any], *, notify: Notify | None = None
    ) -> dict[str, Any]:
        start = time.perf_counter()
        record: dict[str, Any] = {
            "event": "mcp.call",
            "server": self.name,
            "method": method,
            "name": component_name(method, params),
            "persona": self.persona,
        }
        if self.arguments:
            record["arguments"] = params.get("arguments")
        try:
            result = await self.wrapped.request(method, params, notify=notify)
        except Exception as exc:
            record["outcome"] = _outcome(exc)
            # An upstream's own message (a validation error, say) may quote argument values:
            # only the gateway's own messages are logged unless arguments are.
            ours = record["outcome"] in ("denied", "unknown", "timeout", "unavailable")
            record["error"] = str(exc) if ours or self.arguments else type(exc).__name__
            raise
        else:
            record["outcome"] = "tool_error" if result.get("isError") else "ok"
            return result
        finally:
            record["duration_ms"] = round((time.perf_counter() - start) * 1000, 2)
            if self.logger.isEnabledFor(logging.INFO):
                self.logger.info(json.dumps(record, default=str))
