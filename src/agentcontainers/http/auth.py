"""Who is calling: API keys from ``AGENTCONTAINERS_API_KEYS``, and the browser's login cookie.

``AGENTCONTAINERS_API_KEYS`` is a comma-separated list of ``key`` or ``name:key`` entries. The
caller's identity is the entry's name, or ``key-`` and a short hash of a bare key; it owns the
sessions and runs it starts. Without keys (loopback development) every caller is ``local``,
the identity of the one-shot CLI, so sessions started there show up here.

Keys are compared as SHA-256 digests with :func:`hmac.compare_digest`, against every entry,
and never logged. The login cookie holds no key: it is ``<name>.<expiry>.<HMAC>``, keyed by a
digest of the caller's own key, so rotating or removing a key ends its cookies too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from agentcontainers.errors import ConfigError, Unauthorized

LOCAL_CALLER = "local"
COOKIE_NAME = "agentcontainers_session"
COOKIE_TTL_S = 12 * 3600
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")


@dataclass(frozen=True)
class _Key:
    caller: str
    digest: bytes
    cookie_key: bytes


class KeyRing:
    """The configured API keys; empty means open (loopback development) mode."""

    def __init__(self, spec: str | None) -> None:
        self._keys: list[_Key] = []
        seen: set[str] = set()
        for number, entry in enumerate((spec or "").split(","), start=1):
            entry = entry.strip()
            if not entry:
                continue
            name, sep, key = entry.partition(":")
            if not sep:
                name, key = "", entry
            key = key.strip()
            if not key:
                raise ConfigError(f"AGENTCONTAINERS_API_KEYS entry {number} has an empty key")
            digest = hashlib.sha256(key.encode()).digest()
            caller = name.strip() or "key-" + digest.hex()[:12]
            if not _NAME.match(caller):
                raise ConfigError(
                    f"AGENTCONTAINERS_API_KEYS entry {number}: the name must be letters, digits, "
                    "'_', '.', '@' or '-' (at most 64)"
                )
            if caller in seen:
                raise ConfigError(f"AGENTCONTAINERS_API_KEYS names '{caller}' twice")
            seen.add(caller)
            cookie_key = hashlib.sha256(b"agentcontainers-cookie\x00" + key.encode()).digest()
            self._keys.append(_Key(caller, digest, cookie_key))

    @property
    def enabled(self) -> bool:
        """True when keys are configured (and so required)."""
        return bool(self._keys)

    def caller_for_key(self, key: str) -> str | None:
        """The identity owning ``key``, or None; the time taken does not depend on the key."""
        presented = hashlib.sha256(key.encode()).digest()
        found = None
        for entry in self._keys:
            if hmac.compare_digest(presented, entry.digest):
                found = entry.caller
        return found

    def authenticate(self, authorization: str | None, cookie: str | None) -> str:
        """The caller for a request's ``Authorization`` header or login cookie.

        Raises:
            Unauthorized: keys are configured and neither credential is valid.
        """
        if not self.enabled:
            return LOCAL_CALLER
        if authorization:
            scheme, _, token = authorization.partition(" ")
            caller = self.caller_for_key(token.strip()) if scheme.lower() == "bearer" else None
            if caller is None:
                raise Unauthorized("invalid API key: send 'Authorization: Bearer <key>'")
            return caller
        if cookie:
            caller = self.caller_for_cookie(cookie)
            if caller is not None:
                return caller
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")

    def cookie_for(self, caller: str, *, now: float | None = None) -> str:
        """A login cookie value for ``caller`` (valid for :data:`COOKIE_TTL_S`)."""
        entry = self._entry(caller)
        if entry is None:
            raise Unauthorized("no API key for this caller")
        expiry = int((now or time.time()) + COOKIE_TTL_S)
        name = base64.urlsafe_b64encode(caller.encode()).decode().rstrip("=")
        return f"{name}.{expiry}.{_sign(entry.cookie_key, caller, expiry)}"

    def caller_for_cookie(self, value: str, *, now: float | None = None) -> str | None:
        """The caller a login cookie was issued to, or None if it is invalid or expired."""
        try:
            name, expiry_text, signature = value.split(".")
            caller = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
            expiry = int(expiry_text)
        except (ValueError, UnicodeDecodeError):
            return None
        entry = self._entry(caller)
        if entry is None or expiry < (now or time.time()):
            return None
        if not hmac.compare_digest(signature, _sign(entry.cookie_key, caller, expiry)):
            return None
        return caller

    def _entry(self, caller: str) -> _Key | None:
        return next((entry for entry in self._keys if entry.caller == caller), None)


def _sign(key: bytes, caller: str, expiry: int) -> str:
    return hmac.new(key, f"{caller}\x00{expiry}".encode(), hashlib.sha256).hexdigest()
