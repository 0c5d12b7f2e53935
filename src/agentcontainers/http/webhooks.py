"""Completion webhooks of background runs: signed, restricted to public targets, best effort.

The POST carries the run as JSON and ``X-AgentContainers-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body keyed by ``AGENTCONTAINERS_WEBHOOK_SECRET``. Targets are
``http(s)`` URLs whose every address is public; private, loopback and link-local ones are
refused (server-side request forgery) unless ``AGENTCONTAINERS_WEBHOOK_ALLOW`` lists the host
or a network holding it. The checked address is the one connected to (no second lookup, no
redirects), so a name that changes its answer cannot slip past the check. A failed delivery is
retried a few times, recorded on the run, and never changes the run's outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio

from agentcontainers.errors import InvalidRequest

log = logging.getLogger("agentcontainers.http")

SIGNATURE_HEADER = "X-AgentContainers-Signature"
RETRY_DELAYS_S = (1.0, 5.0)
TIMEOUT_S = 10.0
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class WebhookState:
    """A run's webhook and what became of it (shown in the run's status)."""

    url: str
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None

    def public(self) -> dict[str, Any]:
        """The fields shown to the run's owner."""
        return {
            "url": self.url,
            "status": self.status,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class WebhookPolicy:
    """Which targets may receive webhooks; built from the operator's allowlist."""

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default_factory=tuple
    )

    @classmethod
    def from_spec(cls, spec: str) -> WebhookPolicy:
        """Parse ``AGENTCONTAINERS_WEBHOOK_ALLOW`` (hosts and CIDRs, comma separated)."""
        hosts, networks = set(), []
        for entry in (part.strip() for part in spec.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower())
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: _Address) -> bool:
        """True when ``address`` (of ``host``) may be sent to."""
        if address.is_global and not address.is_multicast:
            return True
        return host.lower() in self.allow_hosts or any(address in n for n in self.allow_networks)


def check_url(url: object) -> str:
    """Validate a ``webhook_url`` field's form (the addresses are checked when it is sent).

    Raises:
        InvalidRequest: naming ``webhook_url``.
    """
    if not isinstance(url, str):
        raise InvalidRequest("invalid request: field 'webhook_url' must be a string")
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in ("http", "https"):
        problem = "must be an http or https URL"
    elif not parts.hostname:
        problem = "must name a host"
    elif parts.username or parts.password:
        problem = "must not carry credentials"
    elif len(url) > 2048:
        problem = "must be at most 2048 characters"
    else:
        try:
            parts.port  # noqa: B018 (raises on a bad port)
        except ValueError:
            problem = "has an invalid port"
    if problem:
        raise InvalidRequest(f"invalid request: field 'webhook_url' {problem}")
    return url


async def resolve(url: str, policy: WebhookPolicy) -> _Address:
    """The address to connect to for ``url``, every address of its host being allowed.

    Raises:
        InvalidRequest: the host does not resolve or one of its addresses is refused.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = await anyio.getaddrinfo(host, parts.port or 0, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidRequest(
            f"invalid request: field 'webhook_url': host '{host}' does not resolve"
        ) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if not policy.allows(host, address):
            raise InvalidRequest(
                f"invalid request: field 'webhook_url': {host} resolves to {address}, a "
                "non-public address (the operator can allow it with AGENTCONTAINERS_WEBHOOK_ALLOW)"
            )
    return addresses[0]


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(
    state: WebhookState, payload: dict[str, Any], *, secret: str, policy: WebhookPolicy
) -> None:
    """POST ``payload`` to the webhook, retrying transient failures; never raises."""
    import httpx

    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "agentcontainers-webhook",
        SIGNATURE_HEADER: sign(secret, body),
        "X-AgentContainers-Run-Id": str(payload.get("run_id")),
    }
    delays = (0.0, *RETRY_DELAYS_S)
    for delay in delays:
        await anyio.sleep(delay)
        state.attempts += 1
        try:
            address = await resolve(state.url, policy)
            parts = urlsplit(state.url)
            shown = f"[{address}]" if address.version == 6 else str(address)
            netloc = f"{shown}:{parts.port}" if parts.port else shown
            pinned = parts._replace(netloc=netloc).geturl()
            host_header = parts.netloc.rpartition("@")[2]
            async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
                response = await client.post(
                    pinned,
                    content=body,
                    headers={**headers, "Host": host_header},
                    extensions={"sni_hostname": parts.hostname or ""},
                )
            state.last_status = response.status_code
            state.last_error = None
            if response.is_success:
                state.status = "delivered"
                return
            if response.status_code < 500 and response.status_code not in (408, 429):
                break  # the receiver refused it; repeating will not help
        except InvalidRequest as exc:
            state.last_error = exc.message.removeprefix("invalid request: ")
            break
        except Exception as exc:  # a webhook failure never affects the run
            state.last_error = f"{type(exc).__name__}: {exc}"[:300]
    state.status = "failed"
    log.warning(
        "webhook of run %s failed after %d attempt(s): %s",
        payload.get("run_id"),
        state.attempts,
        state.last_error or f"status {state.last_status}",
    )
