"""AgentContainers: run AI agents (the Claude Code CLI first) as isolated, stateless services.

The public API is small: a request goes in, a result comes out::

    from agentcontainers import AgentService, Settings, parse_request

    async with AgentService(Settings.from_env()) as service:
        result = await service.invoke(parse_request({"prompt": "who are you"}))
        print(result.status, result.body["result"])

Names are imported on first use, so ``agentcontainers run`` pays only for what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AgentRequest": "agentcontainers.request",
    "parse_request": "agentcontainers.request",
    "AgentResult": "agentcontainers.result",
    "Agent": "agentcontainers.agents",
    "discover": "agentcontainers.agents",
    "AgentService": "agentcontainers.service",
    "Settings": "agentcontainers.settings",
    "RunEvent": "agentcontainers.runtime.base",
    "AgentContainersError": "agentcontainers.errors",
    "ConfigError": "agentcontainers.errors",
    "RequestError": "agentcontainers.errors",
    "RunError": "agentcontainers.errors",
}

__all__ = [
    "Agent",
    "AgentContainersError",
    "AgentRequest",
    "AgentResult",
    "AgentService",
    "ConfigError",
    "RequestError",
    "RunError",
    "RunEvent",
    "Settings",
    "__version__",
    "discover",
    "parse_request",
]

if TYPE_CHECKING:
    from agentcontainers.agents import Agent, discover
    from agentcontainers.errors import AgentContainersError, ConfigError, RequestError, RunError
    from agentcontainers.request import AgentRequest, parse_request
    from agentcontainers.result import AgentResult
    from agentcontainers.runtime.base import RunEvent
    from agentcontainers.service import AgentService
    from agentcontainers.settings import Settings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentcontainers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
