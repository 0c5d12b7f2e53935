"""``agentcontainers mcp-proxy``: serve the MCP gateway (see docs/mcp.md).

Upstreams come from ``${NAME}_HOST`` variables and ``--config`` (stdio servers, Claude Code's
``mcpServers`` JSON); the built-in ``assistant`` memory server is included. Clients
authenticate with ``Authorization: Bearer $AGENTCONTAINERS_MCP_TOKEN`` (or a scoped token
derived from it). The gateway binds 127.0.0.1 by default and refuses any other address
without a token, unless told ``--allow-insecure-bind``.
"""

from __future__ import annotations

import argparse

HELP = "Serve the MCP gateway: every upstream at /mcp/<name>, all of them at /mcp."

LISTENING = "mcp-proxy listening on "


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's options.

    Args:
        parser: The ``mcp-proxy`` subparser.
    """
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8390, help="port (default 8390; 0 = any free)")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="JSON file of extra upstreams (stdio commands) and persona tool rules "
        "(default: $AGENTCONTAINERS_MCP_CONFIG)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST",
        help="Host header value to accept besides loopback (repeatable; '*' = any; also "
        "$AGENTCONTAINERS_MCP_ALLOWED_HOSTS, comma-separated)",
    )
    parser.add_argument(
        "--allow-insecure-bind",
        action="store_true",
        help="bind a non-loopback address even without AGENTCONTAINERS_MCP_TOKEN",
    )
    parser.add_argument(
        "--assistant-db",
        metavar="PATH",
        help="SQLite file of the built-in assistant server "
        "(default: $AGENTCONTAINERS_ASSISTANT_DB or $STATE_DIR/assistant.db)",
    )
    parser.add_argument(
        "--no-assistant", action="store_true", help="do not serve the built-in assistant server"
    )
    parser.add_argument(
        "--sse-responses",
        action="store_true",
        help="answer with SSE streams (relays upstream progress) instead of JSON (faster)",
    )
    parser.add_argument(
        "--audit-log", metavar="FILE", help="append the audit log here (default: stderr)"
    )
    parser.add_argument("--log-level", default="warning", help="log level (default warning)")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def main(args: argparse.Namespace) -> int:
    """Serve until interrupted; prints ``mcp-proxy listening on http://HOST:PORT`` first.

    Args:
        args: Parsed options.

    Returns:
        The exit status (2 for a configuration error).
    """
    import asyncio
    import logging
    import sys
    from pathlib import Path

    from agentcontainers.errors import ConfigError
    from agentcontainers.mcp.config import gateway_config
    from agentcontainers.mcp.embedded import assistant_db_path
    from agentcontainers.mcp.serving import serve_gateway
    from agentcontainers.settings import Settings

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    audit = logging.getLogger("agentcontainers.mcp.audit")
    audit.setLevel(logging.INFO)
    audit.propagate = False
    handler: logging.Handler = (
        logging.FileHandler(args.audit_log) if args.audit_log else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    audit.addHandler(handler)

    settings = Settings.from_env()
    token = settings.mcp_gateway_token.get_secret_value() if settings.mcp_gateway_token else None
    if not _is_loopback(args.host) and not token and not args.allow_insecure_bind:
        print(
            f"mcp-proxy: refusing to bind {args.host} without AGENTCONTAINERS_MCP_TOKEN "
            "(anyone who can reach it could use every upstream); set a token, or pass "
            "--allow-insecure-bind",
            file=sys.stderr,
        )
        return 2
    try:
        config = gateway_config(
            settings.environ,
            Path(args.config) if args.config else None,
            builtin_assistant=not args.no_assistant,
        )
    except ConfigError as exc:
        print(f"mcp-proxy: {exc.message}", file=sys.stderr)
        return 2
    if config.personas and not token:
        # A caller's persona is known only from the scoped tokens the service signs with the
        # gateway token: without one the rules could not be applied, and would silently not be.
        print(
            "mcp-proxy: the config's 'personas' rules need AGENTCONTAINERS_MCP_TOKEN (callers "
            "are told apart by tokens signed with it); set a token or remove the rules",
            file=sys.stderr,
        )
        return 2
    allowed = list(args.allowed_host) + [
        host.strip()
        for host in settings.environ.get("AGENTCONTAINERS_MCP_ALLOWED_HOSTS", "").split(",")
        if host.strip()
    ]
    if not _is_loopback(args.host) and args.host not in ("0.0.0.0", "::"):
        allowed.append(args.host)

    def ready(url: str) -> None:
        names = ", ".join(config.upstreams) or "none"
        print(f"{LISTENING}{url}", flush=True)
        print(
            f"mcp-proxy: serving {names} (token {'required' if token else 'not set'})",
            file=sys.stderr,
        )

    asyncio.run(
        serve_gateway(
            config,
            host=args.host,
            port=args.port,
            token=token,
            allowed_hosts=allowed,
            assistant_db=Path(args.assistant_db)
            if args.assistant_db
            else assistant_db_path(settings),
            json_response=not args.sse_responses,
            on_ready=ready,
        )
    )
    return 0
