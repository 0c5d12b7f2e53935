"""Who may use what through the gateway: grants, and the scoped tokens that carry them.

The operator's gateway token (``AGENTCONTAINERS_MCP_TOKEN``) grants everything. An agent never
gets it: :class:`~.wiring.McpWiring` gives each run a *scoped token*, signed with the gateway
token, that names the persona, the servers the run may reach and its tool allow/deny patterns.
The agent can read that token (it is in its MCP config) but cannot widen it without the
gateway token. Format: ``mcpt1.<base64url JSON>.<base64url HMAC-SHA256>``.

Tool patterns use Claude Code's names: ``mcp__<server>`` (every tool of a server) or
``mcp__<server>__<tool>``, with ``fnmatch`` wildcards (``mcp__everything__get-*``). Entries
that name other tools (``Read``) match no MCP tool.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from agentcontainers.mcp.config import PersonaRules

TOKEN_PREFIX = "mcpt1."


def tool_matches(pattern: str, server: str, tool: str) -> bool:
    """Whether ``pattern`` names the tool ``tool`` of ``server``."""
    qualified = f"mcp__{server}__{tool}"
    return (
        pattern == qualified
        or pattern == f"mcp__{server}"
        or fnmatchcase(qualified, pattern)
        or ("*" in pattern and fnmatchcase(f"mcp__{server}", pattern))
    )


def rules_allow(allow: Iterable[str] | None, deny: Iterable[str], server: str, tool: str) -> bool:
    """Allowed when some ``allow`` entry matches (or ``allow`` is ``None``) and no ``deny`` one."""
    if any(tool_matches(p, server, tool) for p in deny):
        return False
    return allow is None or any(tool_matches(p, server, tool) for p in allow)


@dataclass(frozen=True)
class Grant:
    """What one caller may do: which servers it reaches, which tools it sees and calls.

    ``persona`` is ``None`` for the operator (the gateway token, or no token configured).
    """

    persona: str | None = None
    servers: frozenset[str] | None = None
    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    persona_rules: PersonaRules | None = None

    @property
    def restricts_tools(self) -> bool:
        """Whether any tool may be hidden from this caller."""
        rules = self.persona_rules
        return bool(
            self.allow is not None
            or self.deny
            or (rules is not None and (rules.allow is not None or rules.deny))
        )

    def reaches(self, server: str) -> bool:
        """Whether this caller may use ``server`` at all."""
        return self.servers is None or server in self.servers

    def allows_tool(self, server: str, tool: str) -> bool:
        """Whether this caller sees and may call ``tool`` of ``server``."""
        if not self.reaches(server) or not rules_allow(self.allow, self.deny, server, tool):
            return False
        rules = self.persona_rules
        return rules is None or rules_allow(rules.allow, rules.deny, server, tool)

    def with_rules(self, personas: Mapping[str, PersonaRules]) -> Grant:
        """This grant with the gateway's own rules for its persona applied as well."""
        if self.persona is None or self.persona not in personas:
            return self
        return Grant(self.persona, self.servers, self.allow, self.deny, personas[self.persona])

    @property
    def cache_key(self) -> tuple[object, ...]:
        """A hashable identity for caching what this grant sees."""
        return (self.persona, self.servers, self.allow, self.deny)


FULL_ACCESS = Grant()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue_token(
    secret: str,
    *,
    persona: str,
    servers: Iterable[str],
    allow: Iterable[str] | None = None,
    deny: Iterable[str] = (),
    ttl_seconds: float | None = 24 * 3600,
) -> str:
    """A scoped token for one persona's run, signed with the gateway token ``secret``."""
    claims: dict[str, object] = {
        "persona": persona,
        "servers": sorted(set(servers)),
        "allow": None if allow is None else list(allow),
        "deny": list(deny),
    }
    if ttl_seconds is not None:
        claims["exp"] = int(time.time() + ttl_seconds)
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{TOKEN_PREFIX}{payload}.{_signature(secret, payload)}"


def verify_token(secret: str, token: str) -> Grant | None:
    """The grant a bearer token carries, or ``None`` when it is not valid for ``secret``."""
    if hmac.compare_digest(token.encode(), secret.encode()):
        return FULL_ACCESS
    if not token.startswith(TOKEN_PREFIX):
        return None
    payload, _, signature = token[len(TOKEN_PREFIX) :].partition(".")
    if not payload or not hmac.compare_digest(
        signature.encode(), _signature(secret, payload).encode()
    ):
        return None
    try:
        claims = json.loads(_unb64(payload))
        expires = claims.get("exp")
        if expires is not None and time.time() > float(expires):
            return None
        allow = claims.get("allow")
        return Grant(
            persona=str(claims["persona"]),
            servers=frozenset(str(s) for s in claims["servers"]),
            allow=None if allow is None else tuple(str(p) for p in allow),
            deny=tuple(str(p) for p in claims.get("deny") or ()),
        )
    except (ValueError, KeyError, TypeError):
        return None
