"""A minimal keep-alive HTTP/1.1 client for the gateway's upstream calls.

The relay path is dominated by per-request client overhead: a general-purpose client builds
request and response models, runs auth and redirect machinery and writes headers and body
separately, which costs several times the CPU of the upstream's own work (measured: ~3.3 ms
against ~0.4 ms per call here). This client writes each request in one send, parses just
the status line, headers and body framing (``Content-Length`` or chunked), and keeps idle
connections for reuse. It serves one origin; TLS comes from the default SSL context.

It does not follow redirects, use proxies or cookies: upstreams are configured URLs.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

_MAX_HEADER_BYTES = 64 * 1024
_MAX_LINE = 8 * 1024


_BROKEN = (
    OSError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    anyio.IncompleteRead,
    anyio.DelimiterNotFound,
)


class ConnectFailed(OSError):
    """The connection could not be opened, so nothing was sent."""


class ProtocolError(OSError):
    """The server broke HTTP/1.1 framing or closed the connection mid-response."""


@dataclass
class _Connection:
    stream: anyio.abc.ByteStream
    reader: BufferedByteReceiveStream

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await self.stream.aclose()


@dataclass
class Response:
    """A response whose body is read on demand (``read``, or ``chunks`` for streams)."""

    status: int
    headers: dict[str, str]
    _connection: _Connection
    _remaining: int | None  # Content-Length left; None: chunked or until close
    _chunked: bool
    _done: bool = False
    _reusable: bool = field(default=True)

    async def read(self) -> bytes:
        """The whole body."""
        return b"".join([chunk async for chunk in self.chunks()])

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        reader = self._connection.reader
        try:
            if self._chunked:
                while not self._done:
                    size_line = await reader.receive_until(b"\r\n", _MAX_LINE)
                    size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while await reader.receive_until(b"\r\n", _MAX_LINE):  # trailers
                            pass
                        self._done = True
                        break
                    data = await reader.receive_exactly(size)
                    await reader.receive_exactly(2)
                    yield data
            elif self._remaining is not None:
                if self._remaining:
                    data = await reader.receive_exactly(self._remaining)
                    self._remaining = 0
                    yield data
                self._done = True
            else:
                self._reusable = False
                try:
                    while True:
                        yield await reader.receive()
                except anyio.EndOfStream:
                    self._done = True
        except (
            anyio.IncompleteRead,
            anyio.EndOfStream,
            anyio.DelimiterNotFound,
            ValueError,
        ) as exc:
            self._reusable = False
            raise ProtocolError(f"malformed or truncated response body: {exc!r}") from exc

    @property
    def reusable(self) -> bool:
        """Whether the connection can serve another request."""
        return (
            self._done and self._reusable and self.headers.get("connection", "").lower() != "close"
        )


class Http1Pool:
    """Keep-alive connections to the origin of ``url``."""

    def __init__(self, url: str, *, connect_timeout: float = 10.0, max_idle: int = 16) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = self.port == (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.authority = host if default_port else f"{host}:{self.port}"
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self._idle: list[_Connection] = []
        self._ssl = ssl.create_default_context() if self.tls else None

    async def _open(self) -> _Connection:
        try:
            with anyio.fail_after(self.connect_timeout):
                stream: anyio.abc.ByteStream
                if self._ssl is not None:
                    stream = await anyio.connect_tcp(
                        self.host, self.port, ssl_context=self._ssl, tls_standard_compatible=False
                    )
                else:
                    stream = await anyio.connect_tcp(self.host, self.port)
        except (OSError, TimeoutError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            raise ConnectFailed(f"cannot connect to {self.authority}: {reason}") from exc
        return _Connection(stream, BufferedByteReceiveStream(stream))

    @asynccontextmanager
    async def request(
        self, method: str, headers: Mapping[str, str], body: bytes = b""
    ) -> AsyncIterator[Response]:
        """Send a request; yields the response once its headers arrived.

        Raises:
            ConnectFailed: No connection could be opened (nothing was sent).
            ProtocolError: The server answered with broken HTTP or closed mid-response.
        """
        lines = [f"{method} {self.path} HTTP/1.1", f"Host: {self.authority}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

        connection, response = await self._exchange(payload)
        try:
            yield response
        except BaseException:
            await connection.aclose()
            raise
        if response.reusable and len(self._idle) < self.max_idle:
            self._idle.append(connection)
        else:
            await connection.aclose()

    async def _exchange(self, payload: bytes) -> tuple[_Connection, Response]:
        while self._idle:
            # A kept-alive connection may have been closed by the server meanwhile; if it
            # fails before any answer arrives, the request was not processed: use a new one.
            connection = self._idle.pop()
            try:
                return connection, await self._send(connection, payload)
            except _BROKEN:
                await connection.aclose()
        connection = await self._open()
        try:
            return connection, await self._send(connection, payload)
        except BaseException as exc:
            await connection.aclose()
            if isinstance(exc, _BROKEN) and not isinstance(exc, OSError):
                raise ProtocolError(f"connection to {self.authority} failed: {exc!r}") from exc
            raise

    async def _send(self, connection: _Connection, payload: bytes) -> Response:
        await connection.stream.send(payload)
        head = await connection.reader.receive_until(b"\r\n\r\n", _MAX_HEADER_BYTES)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(status_line.split(" ", 2)[1])
        except (IndexError, ValueError):
            raise ProtocolError(f"bad status line from {self.authority}: {status_line!r}") from None
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        remaining = int(length) if length is not None and not chunked else None
        if status in (204, 304) or 100 <= status < 200:
            remaining = 0
        response = Response(status, headers, connection, remaining, chunked)
        if remaining == 0:
            response._done = True
        return response

    async def aclose(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.aclose()
