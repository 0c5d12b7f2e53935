"""Request limits: body size (413), runs per caller (429) and ``Idempotency-Key`` checks."""

from __future__ import annotations

import hashlib
import re

from starlette.requests import Request

from agentcontainers.errors import InvalidRequest, PayloadTooLarge, RateLimited

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with :class:`PayloadTooLarge` past ``limit`` bytes.

    ``Content-Length`` is checked before anything is read; a body without one (chunked) is
    counted as it arrives, so an oversized upload is never held in memory whole.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is {declared} bytes, over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class ConcurrencyLimit:
    """Counts each caller's unfinished runs; a run past ``limit`` is refused with 429."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._active: dict[str, int] = {}

    def acquire(self, caller: str) -> None:
        """Count one more run for ``caller``.

        Raises:
            RateLimited: the caller already has ``limit`` runs going.
        """
        active = self._active.get(caller, 0)
        if active >= self.limit:
            raise RateLimited(
                f"too many runs at once: {active} of at most {self.limit} are still going; "
                "retry when one ends",
                retry_after=5,
            )
        self._active[caller] = active + 1

    def release(self, caller: str) -> None:
        """One of the caller's runs ended."""
        active = self._active.get(caller, 0) - 1
        if active > 0:
            self._active[caller] = active
        else:
            self._active.pop(caller, None)

    def active(self, caller: str) -> int:
        """How many runs ``caller`` has going."""
        return self._active.get(caller, 0)


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, checked: 1 to 255 visible ASCII characters.

    Raises:
        InvalidRequest: the header is present but malformed.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidRequest(
            f"invalid request: header '{IDEMPOTENCY_HEADER}' must be 1 to 255 visible ASCII "
            "characters"
        )
    return key


def fingerprint(request: Request, body: bytes) -> str:
    """What a retry must repeat exactly to share its first attempt's run."""
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()
