"""The HTTP API in-process (httpx.ASGITransport), running the real CLI against the dev model."""

from __future__ import annotations

import json
import re
import uuid
from html.parser import HTMLParser

import anyio
import pytest

from tests.http.conftest import ALICE, BOB, KEYS, agent_processes, parse_sse

pytestmark = pytest.mark.anyio


def result_shaped_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["is_error"] is True
    assert body["subtype"] == f"error_{code}"
    assert body["error"]["code"] == code
    assert body["result"].endswith(".")
    return body


# --- auth --------------------------------------------------------------------------------------
AUTHENTICATED = [
    ("GET", "/readyz"),
    ("POST", "/invoke"),
    ("GET", "/v1/agents"),
    ("GET", "/v1/agents/tester"),
    ("POST", "/v1/agents/tester/invoke"),
    ("POST", "/v1/agents/tester/stream"),
    ("POST", "/v1/agents/tester/runs"),
    ("GET", "/v1/runs"),
    ("GET", f"/v1/runs/run_{uuid.uuid4().hex}"),
    ("GET", f"/v1/runs/run_{uuid.uuid4().hex}/events"),
    ("POST", f"/v1/runs/run_{uuid.uuid4().hex}/cancel"),
    ("GET", "/v1/sessions"),
    ("GET", f"/v1/sessions/{uuid.uuid4()}"),
    ("DELETE", f"/v1/sessions/{uuid.uuid4()}"),
    ("GET", "/v1/usage"),
    ("POST", "/v1/login"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
]


@pytest.mark.parametrize("credentials", [None, "Bearer wrong-key", "Basic YWxpY2U6eA==", "Bearer "])
async def test_every_route_but_healthz_needs_a_valid_key(make_client, dev_model, credentials):
    async with make_client(AGENTCONTAINERS_API_KEYS=KEYS) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        headers = {"Authorization": credentials} if credentials else {}
        prompt = f"unauthenticated-{uuid.uuid4().hex}"  # the dev model is shared by the suite
        for method, path in AUTHENTICATED:
            response = await client.request(
                method, path, headers=headers, content=json.dumps({"prompt": prompt})
            )
            result_shaped_error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "key-0123456789" not in response.text
    assert not dev_model_saw(dev_model, prompt)


async def test_readyz_is_200_when_state_runtime_and_agent_are_usable(make_client, clean_environ):
    async with make_client(AGENTCONTAINERS_API_KEYS=KEYS) as client:
        ready = await client.get("/readyz", headers=ALICE)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"state": "ok", "runtime": "ok", "agent": "ok"},
    }
    assert clean_environ.is_dir()  # the check made the state directory


@pytest.mark.parametrize(
    ("failing", "env", "names"),
    [
        ("state", {"STATE_DIR": "{tmp}/a-file/state"}, "a-file"),
        ("runtime", {"AGENTCONTAINERS_CLI_PATH": "{tmp}/no-such/claude"}, "no-such/claude"),
        ("agent", {"AGENT": "nobody"}, "nobody"),
    ],
)
async def test_readyz_is_503_naming_what_is_not_ready(make_client, tmp_path, failing, env, names):
    (tmp_path / "a-file").write_text("not a directory")
    env = {key: value.format(tmp=tmp_path) for key, value in env.items()}
    async with make_client(**env) as client:
        response = await client.get("/readyz")
        health = await client.get("/healthz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "not_ready"
    assert names in body["checks"][failing]
    assert {
        name: value for name, value in body["checks"].items() if name != failing
    } == dict.fromkeys({"state", "runtime", "agent"} - {failing}, "ok")
    assert health.status_code == 200  # alive, only not ready


def dev_model_saw(dev_model, prompt):
    return any(r.get("prompt") == prompt for r in dev_model.requests("/v1/messages"))


async def test_sessions_belong_to_their_caller(make_client):
    async with make_client(AGENTCONTAINERS_API_KEYS=KEYS) as client:
        ran = await client.post("/invoke", json={"prompt": "alice's secret plan"}, headers=ALICE)
        assert ran.status_code == 200, ran.text
        session = ran.json()["session_id"]

        listed = (await client.get("/v1/sessions", headers=ALICE)).json()["sessions"]
        assert [s["session_id"] for s in listed] == [session]
        assert (await client.get("/v1/sessions", headers=BOB)).json()["sessions"] == []
        for method in ("GET", "DELETE"):
            other = await client.request(method, f"/v1/sessions/{session}", headers=BOB)
            result_shaped_error(other, 404, "not_found")
        resumed = await client.post(
            "/invoke", json={"prompt": "go on", "resume_session_id": session}, headers=BOB
        )
        result_shaped_error(resumed, 404, "not_found")
        run_id = ran.headers["x-run-id"]
        assert (await client.get(f"/v1/runs/{run_id}", headers=BOB)).status_code == 404
        assert (await client.get(f"/v1/runs/{run_id}", headers=ALICE)).status_code == 200

        detail = (await client.get(f"/v1/sessions/{session}", headers=ALICE)).json()
        assert detail["session_id"] == session and detail["turns"] == 1
        roles = [(e["role"], "text" in e) for e in detail["transcript"]]
        assert roles == [("user", True), ("assistant", True)]
        assert detail["transcript"][0]["text"] == "alice's secret plan"

        usage = (await client.get("/v1/usage", headers=ALICE)).json()
        assert usage["runs"] == 1 and usage["agents"]["tester"]["runs"] == 1
        assert (await client.get("/v1/usage", headers=BOB)).json()["runs"] == 0

        deleted = await client.delete(f"/v1/sessions/{session}", headers=ALICE)
        assert deleted.status_code == 204
        assert (await client.get(f"/v1/sessions/{session}", headers=ALICE)).status_code == 404


async def test_login_cookie_authenticates_browsers(make_client):
    async with make_client(AGENTCONTAINERS_API_KEYS=KEYS) as client:
        login = await client.post("/v1/login", headers=ALICE)
        assert login.status_code == 200 and login.json() == {"caller": "alice"}
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert "alice-key" not in cookie
        assert (await client.get("/v1/sessions")).status_code == 200  # the cookie alone

        value = client.cookies["agentcontainers_session"]
        client.cookies.set(
            "agentcontainers_session", value[:-1] + ("0" if value[-1] != "0" else "1")
        )
        assert (await client.get("/v1/sessions")).status_code == 401

        client.cookies.set("agentcontainers_session", value)
        logout = await client.post("/v1/logout")
        assert logout.status_code == 204
        assert (
            "Max-Age=0" in logout.headers["set-cookie"]
            or "expires" in logout.headers["set-cookie"].lower()
        )
        client.cookies.clear()
        assert (await client.get("/v1/sessions")).status_code == 401


async def test_without_keys_the_caller_is_local_and_sees_cli_sessions(make_client, run_cli):
    from_cli = run_cli({"prompt": "started from the CLI"})
    assert from_cli.status == 200
    async with make_client() as client:
        listed = (await client.get("/v1/sessions")).json()["sessions"]
        assert from_cli.body["session_id"] in [s["session_id"] for s in listed]
        assert (await client.post("/v1/login")).json() == {"caller": "local"}


# --- agents and invoke -------------------------------------------------------------------------
async def test_agents_are_listed_and_described(make_client):
    async with make_client() as client:
        names = [a["name"] for a in (await client.get("/v1/agents")).json()["agents"]]
        assert {"assistant", "tester"} <= set(names)
        tester = (await client.get("/v1/agents/tester")).json()
        assert tester["tools"] == ["Bash", "Read", "Write"]
        result_shaped_error(await client.get("/v1/agents/nobody"), 404, "not_found")


async def test_invoke_an_agent(make_client):
    async with make_client() as client:
        response = await client.post(
            "/v1/agents/tester/invoke", json={"prompt": "[[echo-system]] [[say done]]"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["agent"] == "tester" and body["is_error"] is False
        assert "PERSONA-MARKER-7f3a" in body["result"]

        wrong = await client.post(
            "/v1/agents/tester/invoke", json={"prompt": "x", "agent": "assistant"}
        )
        assert (
            "field 'agent'"
            in result_shaped_error(wrong, 400, "invalid_request")["error"]["message"]
        )
        unknown = await client.post("/v1/agents/nobody/invoke", json={"prompt": "x"})
        result_shaped_error(unknown, 404, "not_found")


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"prompt": "x", "colour": "red"}', "'colour'"),
        (b'{"prompt": 5}', "'prompt'"),
        (b'{"prompt": "x", "env": {"PATH": "/evil"}}', "env key 'PATH'"),
        (b'{"prompt": "x", "resume_session_id": "nope"}', "'resume_session_id'"),
    ],
)
async def test_bad_requests_are_400_naming_the_problem(make_client, body, names):
    async with make_client() as client:
        for path in ("/invoke", "/v1/agents/tester/stream", "/v1/agents/tester/runs"):
            response = await client.post(path, content=body)
            assert (
                names in result_shaped_error(response, 400, "invalid_request")["error"]["message"]
            )


async def test_a_body_over_the_limit_is_413(make_client):
    async with make_client(AGENTCONTAINERS_MAX_BODY_BYTES="200") as client:
        big = json.dumps({"prompt": "x" * 300}).encode()
        for path in ("/invoke", "/v1/agents/tester/invoke", "/v1/agents/tester/runs"):
            result_shaped_error(await client.post(path, content=big), 413, "too_large")

        async def chunks():  # no Content-Length: counted as it arrives
            yield big[:100]
            yield big[100:]

        result_shaped_error(await client.post("/invoke", content=chunks()), 413, "too_large")


async def test_runs_past_the_callers_limit_are_429(make_client, clean_environ):
    async with make_client(
        AGENTCONTAINERS_API_KEYS=KEYS, AGENTCONTAINERS_MAX_CONCURRENT_RUNS="1"
    ) as client:
        slow = await client.post(
            "/v1/agents/tester/runs", json={"prompt": "[[stall 30]]"}, headers=ALICE
        )
        assert slow.status_code == 202
        busy = await client.post("/invoke", json={"prompt": "more"}, headers=ALICE)
        result_shaped_error(busy, 429, "rate_limited")
        assert busy.headers["retry-after"].isdigit()
        # another caller has a limit of its own
        assert (await client.post("/invoke", json={"prompt": "b"}, headers=BOB)).status_code == 200
        run_id = slow.json()["run_id"]
        cancelled = await client.post(f"/v1/runs/{run_id}/cancel", headers=ALICE)
        assert cancelled.json()["status"] == "cancelled"
        assert (
            await client.post("/invoke", json={"prompt": "now"}, headers=ALICE)
        ).status_code == 200
    assert agent_processes(clean_environ) == []


async def test_an_idempotency_key_never_starts_a_second_run(make_client, dev_model):
    marker = f"idempotent-{uuid.uuid4().hex[:8]}"
    request = {"prompt": f"[[stall 1]] {marker}"}
    headers = {"Idempotency-Key": marker}
    async with make_client() as client:
        results = []

        async def call():
            results.append(await client.post("/invoke", json=request, headers=headers))

        async with anyio.create_task_group() as tasks:
            for _ in range(3):
                tasks.start_soon(call)
        later = await client.post("/invoke", json=request, headers=headers)
        sessions = {r.json()["session_id"] for r in [*results, later]}
        assert len(sessions) == 1 and all(r.status_code == 200 for r in [*results, later])
        assert len({r.headers["x-run-id"] for r in [*results, later]}) == 1
        calls = [r for r in dev_model.requests("/v1/messages") if marker in (r.get("prompt") or "")]
        assert len(calls) == 1

        reused = await client.post("/invoke", json={"prompt": "other"}, headers=headers)
        assert "Idempotency-Key" in result_shaped_error(reused, 400, "invalid_request")["result"]
        malformed = await client.post(
            "/invoke", json=request, headers={"Idempotency-Key": "has space"}
        )
        result_shaped_error(malformed, 400, "invalid_request")


# --- streams and background runs ---------------------------------------------------------------
async def test_a_background_run_retried_with_its_key_is_the_same_run(make_client, dev_model):
    marker = f"background-{uuid.uuid4().hex[:8]}"
    request = {"prompt": f"[[stall 1]] [[say {marker}]]"}
    headers = {"Idempotency-Key": marker}
    async with make_client() as client:
        first = await client.post("/v1/agents/tester/runs", json=request, headers=headers)
        assert first.status_code == 202, first.text
        run_id = first.json()["run_id"]
        retry = await client.post("/v1/agents/tester/runs", json=request, headers=headers)
        assert retry.status_code == 202, retry.text
        assert retry.json()["run_id"] == run_id
        assert retry.headers["location"] == first.headers["location"] == f"/v1/runs/{run_id}"

        with anyio.fail_after(60):
            while (run := (await client.get(f"/v1/runs/{run_id}")).json())["status"] in (
                "queued", "running",
            ):  # fmt: skip
                await anyio.sleep(0.1)
        assert run["status"] == "succeeded" and run["result"]["result"] == marker
        # after it finished too: the same run, its result, and still no second run
        late = await client.post("/v1/agents/tester/runs", json=request, headers=headers)
        assert late.status_code == 202 and late.json()["run_id"] == run_id
        assert late.json()["status"] == "succeeded" and late.json()["result"] == run["result"]
        assert [r["run_id"] for r in (await client.get("/v1/runs")).json()["runs"]] == [run_id]
        prompts = [
            r for r in dev_model.requests("/v1/messages")
            if marker in (r.get("prompt") or "") and r.get("tools")
        ]  # fmt: skip
        assert len(prompts) == 1

        other = await client.post("/v1/agents/tester/runs", json={"prompt": "x"}, headers=headers)
        assert "Idempotency-Key" in result_shaped_error(other, 400, "invalid_request")["result"]


async def test_stream_yields_ordered_events_ending_in_the_result(make_client):
    async with make_client() as client:
        response = await client.post(
            "/v1/agents/tester/stream",
            json={"prompt": '[[tool Bash {"command": "echo streamed"}]]'},
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.text)
    names = [e["event"] for e in events]
    assert names == ["run", "init", "tool_use", "tool_result", "text", "result"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    run, init, tool_use, tool_result, text, result = events
    assert run["data"]["run_id"] == response.headers["x-run-id"]
    assert init["data"]["session_id"] == result["data"]["session_id"]
    assert tool_use["data"]["name"] == "Bash"
    assert tool_result["data"]["content"] == "streamed"
    assert result["data"]["result"] == text["data"]["text"] == "tool Bash returned: streamed"


async def test_a_failed_run_streams_an_error_event(make_client):
    async with make_client() as client:
        response = await client.post("/v1/agents/tester/stream", json={"prompt": "[[error 500]]"})
        events = parse_sse(response.text)
    assert events[-1]["event"] == "error"
    assert events[-1]["data"]["is_error"] is True and events[-1]["data"]["error"]["code"]


async def test_background_run_completes_and_its_events_replay(make_client):
    async with make_client() as client:
        started = await client.post("/v1/agents/tester/runs", json={"prompt": "[[say later]]"})
        assert started.status_code == 202, started.text
        run = started.json()
        assert run["status"] in ("queued", "running")
        assert started.headers["location"] == f"/v1/runs/{run['run_id']}"
        with anyio.fail_after(60):
            while run["status"] in ("queued", "running"):
                await anyio.sleep(0.1)
                run = (await client.get(f"/v1/runs/{run['run_id']}")).json()
        assert run["status"] == "succeeded" and run["http_status"] == 200
        assert run["result"]["result"] == "later"
        assert run["session_id"] == run["result"]["session_id"]

        url = f"/v1/runs/{run['run_id']}/events"
        everything = parse_sse((await client.get(url)).text)
        assert [e["event"] for e in everything] == ["run", "init", "text", "result"]
        rest = parse_sse((await client.get(url, headers={"Last-Event-ID": "2"})).text)
        assert rest == everything[2:]
        assert (
            parse_sse((await client.get(url, params={"last_event_id": 3})).text) == everything[3:]
        )
        done = await client.get(url, headers={"Last-Event-ID": str(len(everything))})
        assert done.status_code == 204  # EventSource stops reconnecting
        listed = (await client.get("/v1/runs")).json()["runs"]
        assert run["run_id"] in [r["run_id"] for r in listed]


async def test_cancel_stops_the_cli(make_client, clean_environ):
    async with make_client() as client:
        run = (await client.post("/v1/agents/tester/runs", json={"prompt": "[[stall 60]]"})).json()
        with anyio.fail_after(30):
            while not agent_processes(clean_environ):
                await anyio.sleep(0.05)
        cancelled = await client.post(f"/v1/runs/{run['run_id']}/cancel")
        assert cancelled.status_code == 200
        body = cancelled.json()
        assert body["status"] == "cancelled" and body["http_status"] == 499
        assert body["result"]["error"]["code"] == "cancelled"
        assert agent_processes(clean_environ) == []
        again = await client.post(f"/v1/runs/{run['run_id']}/cancel")
        assert again.json()["status"] == "cancelled"


async def test_unknown_routes_and_methods_answer_in_the_error_shape(make_client):
    async with make_client() as client:
        result_shaped_error(await client.get("/v1/nothing"), 404, "not_found")
        response = await client.put("/invoke")
        result_shaped_error(response, 405, "method_not_allowed")
        bad_query = await client.get("/v1/sessions", params={"limit": "many"})
        assert "limit" in result_shaped_error(bad_query, 400, "invalid_request")["result"]


async def test_openapi_and_docs_are_served(make_client):
    async with make_client() as client:
        spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in ("/invoke", "/v1/agents/{name}/stream", "/v1/runs/{run_id}/events", "/v1/usage"):
        assert path in paths
    body = paths["/invoke"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AgentRequest"}
    assert "webhook_url" in spec["components"]["schemas"]["RunRequest"]["properties"]
    assert not any("422" in op["responses"] for p in paths.values() for op in p.values())
    # every route that starts a run honours Idempotency-Key, so each one declares it
    for path in ("/invoke", "/v1/agents/{name}/invoke", "/v1/agents/{name}/stream",
                 "/v1/agents/{name}/runs"):  # fmt: skip
        headers = {p["name"]: p for p in paths[path]["post"]["parameters"] if p["in"] == "header"}
        assert headers["Idempotency-Key"]["schema"]["anyOf"][0]["pattern"] == "^[!-~]{1,255}$"
        assert "AGENTCONTAINERS_RUN_RETENTION" in headers["Idempotency-Key"]["description"]
    stream_headers = [p["name"] for p in paths["/v1/agents/{name}/stream"]["post"]["parameters"]]
    assert "Last-Event-ID" in stream_headers


class _Assets(HTMLParser):
    """The URLs an HTML page loads: ``src`` and ``href`` attributes, and the spec URL."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


async def test_the_docs_page_loads_only_assets_this_service_serves(make_client):
    async with make_client(AGENTCONTAINERS_API_KEYS=KEYS) as client:
        client.headers.update(ALICE)  # behind the keys like the rest (AUTHENTICATED above)
        page = await client.get("/docs")
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        parser = _Assets()
        parser.feed(page.text)
        assert len(parser.urls) >= 3  # script, stylesheet, icon
        assert "url: '/openapi.json'" in page.text
        # nothing from another origin (a CDN would leave the page blank offline)
        assert not re.search(r"(https?:)?//[a-z]", " ".join(parser.urls)), parser.urls
        assert all(url.startswith("/static/") for url in parser.urls), parser.urls
        types = {}
        for url in parser.urls:
            asset = await client.get(url)
            assert asset.status_code == 200, url
            types[url.rsplit(".", 1)[1]] = asset.headers["content-type"]
            assert len(asset.content) > 500, url
        assert types["js"].startswith(("text/javascript", "application/javascript"))
        assert types["css"].startswith("text/css") and types["png"] == "image/png"
        assert (await client.get("/openapi.json")).status_code == 200


async def test_the_assistant_and_its_mcp_gateway_survive_runs_and_cancels(make_client):
    # The gateway starts with the first run that needs it (in the app's lifespan task, so it
    # outlives that run) and serves every later one.
    async with make_client(AGENT="assistant") as client:
        for _ in range(2):
            ran = await client.post("/v1/agents/assistant/invoke", json={"prompt": "[[say hi]]"})
            assert ran.status_code == 200, ran.text
            assert ran.json()["result"] == "hi"
        for _ in range(2):
            started = await client.post("/v1/agents/assistant/runs", json={"prompt": "[[stall 5]]"})
            run_id = started.json()["run_id"]
            cancelled = await client.post(f"/v1/runs/{run_id}/cancel")
            assert cancelled.json()["status"] == "cancelled"
            assert cancelled.json()["result"]["subtype"] == "error_cancelled"
        again = await client.post("/v1/agents/assistant/invoke", json={"prompt": "[[say again]]"})
        assert again.status_code == 200 and again.json()["result"] == "again"
        # and its memory tools work through it: a todo saved in one run is listed in the next
        todo = '[[tool mcp__assistant__create_todo {"title": "book the vet"}]]'
        saved = await client.post("/v1/agents/assistant/invoke", json={"prompt": todo})
        assert saved.status_code == 200 and "book the vet" in saved.json()["result"], saved.text
        listing = "[[tool mcp__assistant__list_todos {}]]"
        listed = await client.post("/v1/agents/assistant/invoke", json={"prompt": listing})
        assert "book the vet" in listed.json()["result"], listed.text
