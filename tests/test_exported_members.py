"""The public API is deliberate: every exported name resolves, and nothing else is public."""

from __future__ import annotations

import subprocess
import sys

import agentcontainers


def test_exported_members():
    exported = set(agentcontainers.__all__)
    assert exported == {
        "Agent", "AgentContainersError", "AgentRequest", "AgentResult", "AgentService",
        "ConfigError", "RequestError", "RunError", "RunEvent", "Settings", "discover",
        "parse_request", "__version__",
    }  # fmt: skip
    for name in exported:
        assert getattr(agentcontainers, name) is not None


def test_importing_the_package_is_cheap():
    """``import agentcontainers`` (every CLI call does it) loads no heavy library."""
    code = "import sys, agentcontainers; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    for heavy in ("pydantic", "anyio", "mcp", "fastmcp", "claude_agent_sdk", "starlette"):
        assert heavy not in loaded.split(), heavy
