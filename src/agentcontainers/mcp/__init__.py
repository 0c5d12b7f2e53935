"""MCP for agents: the gateway (``agentcontainers mcp-proxy``) and the built-in memory server.

```
wiring.py        McpWiring.servers_for(): the agent's --mcp-config, pointing at the gateway
config.py        upstreams from ${NAME}_HOST / _TOKEN / _HEADERS and the config file
gateway.py       the ASGI app: Host/Origin checks, bearer auth, /mcp and /mcp/<name>
front.py         the MCP server each route speaks, relaying to a Backend
base.py          Backend: list(kind) and request(method, params), wire dicts in and out
pool.py          PooledUpstream: one reusable, reconnecting session per upstream
  streamable_http.py, sdk_session.py   the sessions (lean HTTP client; SDK for stdio/SSE)
prefixed.py, filtered.py, audit.py, aggregate.py   wrappers composing the views
policy.py        grants and the scoped tokens that carry a persona's servers and tool rules
embedded.py      serving the gateway (the command, or inside another process)
memory/          the built-in ``assistant`` server: todos, notes, preferences, backgrounds
```
"""

from agentcontainers.mcp.wiring import McpWiring, known_servers

__all__ = ["McpWiring", "known_servers"]
