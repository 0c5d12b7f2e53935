"""``python -m agentcontainers`` is the ``agentcontainers`` command."""

from agentcontainers.cli import console

console()
