"""Server-Sent Events: a response that streams a run's events and notices when its client leaves.

Starlette's ``StreamingResponse`` only learns of a disconnect when it next writes; a run that
thinks for a minute would keep streaming to nobody. :class:`EventStream` listens for
``http.disconnect`` while it streams, ends at once when the client goes, and sends a comment
every ``ping_s`` seconds so proxies keep an idle stream open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

import anyio
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from agentcontainers.http.runs import Event

MEDIA_TYPE = "text/event-stream"
RETRY_MS = 2000


def last_event_id(header: str | None, query: str | None) -> int:
    """Where a reconnecting client left off: ``Last-Event-ID``, else ``?last_event_id=``."""
    for value in (header, query):
        text = (value or "").strip()
        if text.isascii() and text.isdigit():  # not "²", which isdigit() but int() refuses
            return int(text)
    return 0


class EventStream(Response):
    """A response sending ``events`` as ``text/event-stream``.

    ``on_close`` runs once when the stream ends, whether the events ran out or the client left.
    """

    media_type = MEDIA_TYPE

    def __init__(
        self,
        events: AsyncIterator[Event],
        *,
        on_close: Callable[[], None] | None = None,
        headers: Mapping[str, str] | None = None,
        ping_s: float = 15.0,
    ) -> None:
        self.events = events
        self.on_close = on_close
        self.ping_s = ping_s
        self.status_code = 200
        self.body = b""
        self.background: BackgroundTask | None = None
        extra = {k.lower(): v for k, v in (headers or {}).items()}
        self.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in {
                "content-type": f"{MEDIA_TYPE}; charset=utf-8",
                "cache-control": "no-cache",
                "x-accel-buffering": "no",
                **extra,
            }.items()
        ]
        self._lock = anyio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._until_disconnect, receive, tasks.cancel_scope)
                tasks.start_soon(self._ping, send)
                await self._write(send, f"retry: {RETRY_MS}\n\n".encode())
                async for event in self.events:
                    await self._write(send, event.encode())
                tasks.cancel_scope.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client is gone
        finally:
            if self.on_close is not None:
                self.on_close()
            aclose = getattr(self.events, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
        if self.background is not None:
            await self.background()

    async def _write(self, send: Send, chunk: bytes) -> None:
        async with self._lock:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _ping(self, send: Send) -> None:
        while True:
            await anyio.sleep(self.ping_s)
            await self._write(send, b": ping\n\n")

    @staticmethod
    async def _until_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope.cancel()
                return
