"""``python -m agentcontainers.devmodel [--host H] [--port P]``: serve the dev model."""

from agentcontainers.devmodel.server import run

raise SystemExit(run())
