"""MCP tests run on asyncio (the service's loop) through anyio's pytest plugin.

The MCP fixtures live in the ``tests.fixtures.mcp`` plugin; they are imported here too so
these tests run whether or not the root conftest registers that plugin.
"""

from __future__ import annotations

import pytest

from tests.fixtures.mcp import (  # noqa: F401 (fixtures)
    everything_upstream,
    gateway,
    start_everything,
    start_gateway,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
