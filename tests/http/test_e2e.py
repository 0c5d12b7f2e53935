"""``agentcontainers serve`` on a real socket, the real CLI, the dev model: what a client sees."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx
import pytest

from tests.conftest import cmdline_of
from tests.http.conftest import agent_processes, parse_sse, wait_for_no_agent_processes

pytestmark = pytest.mark.e2e


def test_invoke_returns_what_the_cli_returns(serve, run_cli):
    server = serve()
    request = {"prompt": '[[tool Bash {"command": "echo parity"}]]', "allowed_tools": ["Bash"]}
    over_http = httpx.post(f"{server.url}/invoke", json=request, timeout=60)
    from_cli = run_cli(request)
    assert over_http.status_code == from_cli.status == 200
    assert over_http.headers["content-type"] == from_cli.envelope["headers"]["Content-Type"]
    http_body, cli_body = over_http.json(), from_cli.body
    assert set(http_body) == set(cli_body)
    for key in ("type", "subtype", "is_error", "result", "num_turns", "agent", "stop_reason"):
        assert http_body[key] == cli_body[key], key
    # errors too: the same status and shape
    bad = {"prompt": "x", "env": {"PATH": "/evil"}}
    over_http = httpx.post(f"{server.url}/invoke", json=bad, timeout=60)
    from_cli = run_cli(bad)
    assert over_http.status_code == from_cli.status == 400
    assert over_http.json() == from_cli.body


def read_events(chunks: Iterator[str], until_id: int) -> list[dict]:
    """Read the stream (``response.iter_text()``, kept open) until event ``until_id``."""
    buffer = ""
    for chunk in chunks:
        buffer += chunk
        events = parse_sse(buffer.rsplit("\n\n", 1)[0] + "\n\n") if "\n\n" in buffer else []
        if events and events[-1]["id"] >= until_id:
            return events
    raise AssertionError(f"the stream ended before event {until_id}: {buffer}")


def test_a_reconnecting_client_gets_exactly_the_events_it_missed(serve):
    server = serve(AGENTCONTAINERS_RECONNECT_GRACE="30")
    prompt = (
        '[[stall 0.7]] [[tool Bash {"command": "echo one"}]] [[tool Bash {"command": "echo two"}]]'
    )
    with (
        httpx.Client(timeout=60) as client,
        client.stream(
            "POST", f"{server.url}/v1/agents/tester/stream", json={"prompt": prompt}
        ) as r,
    ):
        assert r.status_code == 200
        seen = read_events(r.iter_text(), until_id=2)  # run, init: then the connection drops
    run_id = seen[0]["data"]["run_id"]
    time.sleep(1.0)  # the run goes on without a client
    status = httpx.get(f"{server.url}/v1/runs/{run_id}").json()
    assert status["status"] == "running" and status["events"] > 2

    missed = parse_sse(
        httpx.get(
            f"{server.url}/v1/runs/{run_id}/events", headers={"Last-Event-ID": "2"}, timeout=60
        ).text
    )
    everything = parse_sse(httpx.get(f"{server.url}/v1/runs/{run_id}/events", timeout=60).text)
    assert missed == everything[2:]
    assert seen == everything[:2]
    assert [e["id"] for e in everything] == list(range(1, len(everything) + 1))
    names = [e["event"] for e in everything]
    assert names == ["run", "init", "tool_use", "tool_result", "tool_use", "tool_result", "text",
                     "result"]  # fmt: skip
    assert everything[-1]["data"]["result"] == "tool Bash returned: one\ntool Bash returned: two"


def test_a_stream_retried_with_its_key_rejoins_the_run_after_last_event_id(serve):
    # A client that posts the same request again with its Idempotency-Key and Last-Event-ID
    # (EventSource-style) rejoins the run it started instead of starting a second one.
    server = serve(AGENTCONTAINERS_RECONNECT_GRACE="30")
    prompt = '[[stall 0.7]] [[tool Bash {"command": "echo again"}]]'
    url = f"{server.url}/v1/agents/tester/stream"
    key = {"Idempotency-Key": f"rejoin-{time.monotonic_ns()}"}
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", url, json={"prompt": prompt}, headers=key) as r,
    ):
        seen = read_events(r.iter_text(), until_id=2)
    run_id = seen[0]["data"]["run_id"]
    again = {**key, "Last-Event-ID": "2"}
    rejoined = parse_sse(httpx.post(url, json={"prompt": prompt}, headers=again, timeout=60).text)
    everything = parse_sse(httpx.get(f"{server.url}/v1/runs/{run_id}/events", timeout=60).text)
    assert rejoined == everything[2:] and everything[-1]["event"] == "result"
    assert [r["run_id"] for r in httpx.get(f"{server.url}/v1/runs").json()["runs"]] == [run_id]


LONG_REPLY = "Here is a reply long enough that the model writes it in several pieces, in order."


@pytest.mark.parametrize("route", ["stream", "runs"])
def test_text_deltas_stream_a_reply_as_it_is_written_then_whole(serve, route):
    server = serve()
    url = f"{server.url}/v1/agents/tester/{route}?text_deltas=true"
    started = httpx.post(url, json={"prompt": f"[[say {LONG_REPLY}]]"}, timeout=60)
    if route == "runs":
        assert started.status_code == 202
        run_id = started.json()["run_id"]
        started = httpx.get(f"{server.url}/v1/runs/{run_id}/events", timeout=60)
    events = parse_sse(started.text)
    names = [e["event"] for e in events]
    deltas = [e["data"]["text"] for e in events if e["event"] == "text_delta"]
    assert len(deltas) > 1
    assert names == ["run", "init", *["text_delta"] * len(deltas), "text", "result"]
    assert "".join(deltas) == LONG_REPLY == events[-2]["data"]["text"]
    assert all(e["data"]["parent_tool_use_id"] is None for e in events[2:-2])


def test_a_client_leaving_a_stream_cancels_its_run(serve, clean_environ):
    server = serve()  # AGENTCONTAINERS_RECONNECT_GRACE=0
    prompt = '[[tool Bash {"command": "echo start; sleep 45; echo end"}]]'
    with (
        httpx.Client(timeout=60) as client,
        client.stream(
            "POST", f"{server.url}/v1/agents/tester/stream", json={"prompt": prompt}
        ) as response,
    ):
        chunks = response.iter_text()  # kept: the connection stays open while we look
        run_id = read_events(chunks, until_id=3)[0]["data"]["run_id"]  # tool_use: Bash runs
        deadline = time.monotonic() + 10
        while not any(b"sleep" in cmdline_of(pid) for pid in agent_processes(clean_environ)):
            assert time.monotonic() < deadline, "the tool's sleep never started"
            time.sleep(0.05)
    # The CLI and the tool's child process end with the run.
    assert wait_for_no_agent_processes(clean_environ) == []
    deadline = time.monotonic() + 10
    while (run := httpx.get(f"{server.url}/v1/runs/{run_id}").json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert run["status"] == "cancelled"
    assert "went away" in run["result"]["result"]


def test_a_client_leaving_a_sync_invoke_cancels_its_run(serve, clean_environ, dev_model):
    server = serve()
    marker = f"leaving-{time.monotonic_ns()}"
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}/invoke", json={"prompt": f"[[stall 60]] {marker}"}, timeout=3)
    assert any(marker in (r.get("prompt") or "") for r in dev_model.requests("/v1/messages"))
    assert wait_for_no_agent_processes(clean_environ) == []
    assert httpx.get(f"{server.url}/healthz").status_code == 200


class WebhookReceiver:
    """A local HTTP server recording the webhooks it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                receiver.arrived.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/agent"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_background_run_outlives_its_client_and_calls_its_signed_webhook(serve):
    receiver = WebhookReceiver()
    secret = "webhook-secret-42"
    try:
        server = serve(
            AGENTCONTAINERS_WEBHOOK_SECRET=secret, AGENTCONTAINERS_WEBHOOK_ALLOW="127.0.0.1"
        )
        started = httpx.post(
            f"{server.url}/v1/agents/tester/runs",
            json={"prompt": "[[stall 1]] [[say in the background]]", "webhook_url": receiver.url},
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        assert receiver.arrived.wait(60)
        headers, body = receiver.received[0]
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-AgentContainers-Signature"] == expected
        payload = json.loads(body)
        assert payload["run_id"] == run_id and payload["status"] == "succeeded"
        assert payload["result"]["result"] == "in the background"
        deadline = time.monotonic() + 10
        while (run := httpx.get(f"{server.url}/v1/runs/{run_id}").json())["webhook"][
            "status"
        ] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert run["webhook"]["status"] == "delivered" and run["result"] == payload["result"]
    finally:
        receiver.close()


def test_twenty_concurrent_invokes(serve, clean_environ):
    server = serve()
    warm = httpx.post(f"{server.url}/invoke", json={"prompt": "warm up"}, timeout=60)
    assert warm.status_code == 200
    baseline = server.rss_kib()

    async def invoke_all() -> tuple[list[httpx.Response], float]:
        async with httpx.AsyncClient(timeout=120) as client:
            responses: list[httpx.Response] = []

            async def one(number: int) -> None:
                responses.append(
                    await client.post(
                        f"{server.url}/invoke", json={"prompt": f"[[stall 1]] number {number}"}
                    )
                )

            started = time.monotonic()
            async with anyio.create_task_group() as tasks:
                for number in range(20):
                    tasks.start_soon(one, number)
            return responses, time.monotonic() - started

    responses, wall = anyio.run(invoke_all)
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    results = " ".join(r.json()["result"] for r in responses)
    assert all(f"number {n}" in results for n in range(20))
    assert len({r.json()["session_id"] for r in responses}) == 20
    assert wait_for_no_agent_processes(clean_environ) == []
    time.sleep(0.5)
    grown_mib = (server.rss_kib() - baseline) / 1024
    print(f"20 concurrent invokes: {wall:.2f} s wall; server RSS {grown_mib:+.1f} MiB")
    assert grown_mib < 40, f"the server grew by {grown_mib:.1f} MiB"


def test_serve_refuses_an_open_bind_without_keys(service_env, tmp_path):
    import subprocess
    import sys

    from tests.http.conftest import start_server, stop_server

    refused = subprocess.run(
        [sys.executable, "-m", "agentcontainers", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env=service_env,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "AGENTCONTAINERS_API_KEYS" in refused.stderr
    for extra_env, args in [
        ({}, ("--host", "0.0.0.0", "--allow-unauthenticated")),
        ({"AGENTCONTAINERS_API_KEYS": "ops:ops-key-0123456789"}, ("--host", "0.0.0.0")),
    ]:
        server = start_server({**service_env, **extra_env}, tmp_path / "open.log", *args)
        try:
            assert server.url.startswith("http://0.0.0.0:")
            port = server.url.rsplit(":", 1)[1]
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        finally:
            stop_server(server.process)


def test_cancel_stops_the_cli_of_a_background_run(serve, clean_environ):
    server = serve()
    started = httpx.post(f"{server.url}/v1/agents/tester/runs", json={"prompt": "[[stall 60]]"})
    run_id = started.json()["run_id"]
    deadline = time.monotonic() + 30
    while not agent_processes(clean_environ):
        assert time.monotonic() < deadline, "the CLI never started"
        time.sleep(0.05)
    cancelled = httpx.post(f"{server.url}/v1/runs/{run_id}/cancel", timeout=30).json()
    assert cancelled["status"] == "cancelled" and cancelled["http_status"] == 499
    assert agent_processes(clean_environ) == []  # gone when the cancel answers
    events = parse_sse(httpx.get(f"{server.url}/v1/runs/{run_id}/events", timeout=30).text)
    assert events[-1]["event"] == "error"
    assert events[-1]["data"]["error"]["code"] == "cancelled"


def test_serve_binds_loopback_by_default_and_never_logs_a_key(serve):
    key = "ops-key-never-in-the-logs-0123456789"
    server = serve(AGENTCONTAINERS_API_KEYS=f"ops:{key}")
    assert server.url.startswith("http://127.0.0.1:")  # no --host: loopback only
    good = {"Authorization": f"Bearer {key}"}
    ran = httpx.post(f"{server.url}/invoke", json={"prompt": "[[say logged?]]"}, headers=good,
                     timeout=60)  # fmt: skip
    assert ran.status_code == 200, ran.text
    wrong = {"Authorization": f"Bearer {key}-but-wrong"}
    assert httpx.get(f"{server.url}/v1/sessions", headers=wrong).status_code == 401
    login = httpx.post(f"{server.url}/v1/login", headers=good)  # the browser's cookie
    assert login.status_code in (200, 204), login.text
    from tests.http.conftest import stop_server

    stop_server(server.process)  # flushes the access log (uvicorn's stdout, drained to a file)
    log = server.log.read_text() + server.log.with_suffix(".access.log").read_text()
    assert "POST /invoke" in log and "POST /v1/login" in log
    assert key not in log and "never-in-the-logs" not in log
