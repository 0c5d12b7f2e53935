"""The keep-alive HTTP/1.1 client against uvicorn: framings, reuse, stale connections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from agentcontainers.mcp.http1 import ConnectFailed, Http1Pool
from tests.fixtures.mcp import free_port, serve_app

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


class Origin:
    """An ASGI app answering by path, counting the TCP connections it saw."""

    def __init__(self) -> None:
        self.clients: set[Any] = set()
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.clients.add(scope["client"])
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        path = scope["path"]
        if path == "/chunked":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for part in (b"data: one\n\n", b"data: two\n\n"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
                await anyio.sleep(0.01)
            await send({"type": "http.response.body", "body": b""})
        elif path == "/close":
            headers = [(b"connection", b"close"), (b"content-length", b"2")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"ok"})
        else:
            reply = b'{"echo": "' + body + b'"}'
            headers = [(b"content-length", str(len(reply)).encode())]
            await send({"type": "http.response.start", "status": 201, "headers": headers})
            await send({"type": "http.response.body", "body": reply})


@pytest.fixture
async def origin() -> AsyncIterator[tuple[Origin, str]]:
    app = Origin()
    async with serve_app(app) as base:
        yield app, base


async def test_sequential_requests_reuse_one_connection(origin: tuple[Origin, str]) -> None:
    app, base = origin
    pool = Http1Pool(f"{base}/json")
    for index in range(5):
        async with pool.request(
            "POST", {"Content-Type": "text/plain"}, str(index).encode()
        ) as response:
            assert response.status == 201
            assert await response.read() == b'{"echo": "%d"}' % index
    await pool.aclose()
    assert len(app.clients) == 1
    assert app.bodies == [b"0", b"1", b"2", b"3", b"4"]


async def test_chunked_bodies_stream_and_the_connection_is_kept(origin: tuple[Origin, str]) -> None:
    app, base = origin
    pool = Http1Pool(f"{base}/chunked")
    for _ in range(2):
        async with pool.request("GET", {}) as response:
            chunks = [chunk async for chunk in response.chunks()]
        assert b"".join(chunks) == b"data: one\n\ndata: two\n\n"
    await pool.aclose()
    assert len(app.clients) == 1


async def test_connection_close_is_honoured(origin: tuple[Origin, str]) -> None:
    app, base = origin
    pool = Http1Pool(f"{base}/close")
    for _ in range(3):
        async with pool.request("GET", {}) as response:
            assert await response.read() == b"ok"
    assert len(app.clients) == 3


async def test_a_connection_the_server_dropped_is_replaced_transparently() -> None:
    app = Origin()
    port = free_port()
    async with serve_app(app, port) as base:
        pool = Http1Pool(f"{base}/json")
        async with pool.request("POST", {}, b"a") as response:
            await response.read()
    # Same port, fresh server: the idle connection is dead.
    async with serve_app(app, port), pool.request("POST", {}, b"b") as response:
        assert await response.read() == b'{"echo": "b"}'
    await pool.aclose()


async def test_nothing_listening_is_connect_failed() -> None:
    pool = Http1Pool(f"http://127.0.0.1:{free_port()}/mcp", connect_timeout=2)
    with pytest.raises(ConnectFailed, match="cannot connect"):
        async with pool.request("POST", {}, b"{}"):
            pass


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Http1Pool("ftp://example.com/x")
    pool = Http1Pool("https://example.com/mcp?x=1")
    assert (pool.port, pool.tls, pool.path, pool.authority) == (
        443,
        True,
        "/mcp?x=1",
        "example.com",
    )
