"""The image's three modes, run for real on this machine: ``docker/entrypoint.sh`` with the
installed ``agentcontainers``, the real Claude Code CLI and the dev model (no Docker engine
here, so the entrypoint runs directly, as the image's ENTRYPOINT would run it).

- a JSON argument prints the envelope (the seed's ``docker-compose run --rm assistant '{...}'``);
- no argument serves ``/healthz`` and ``/invoke``;
- ``LAMBDA=true`` takes invocations from a local Lambda Runtime API and posts envelopes back.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.deploy.lambda_runtime_api import LambdaRuntimeAPI
from tests.deploy.tools import ENTRYPOINT, free_port, search_path

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 120.0


def require_module(module: str, what: str) -> None:
    """Skip, naming the missing piece, while another part of the project has not landed."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{what} has not landed yet: no module {module}")


@pytest.fixture
def container_env(agent_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The operator environment of the image: the built-in assistant, state in STATE_DIR,
    the installed scripts on PATH (as /opt/venv/bin is in the image)."""
    env = {k: v for k, v in agent_env.items() if k not in ("AGENT", "AGENTS_PATH")}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env.update(PATH=search_path(), TMPDIR=str(scratch), PYTHONUNBUFFERED="1")
    return env


def _stop(process: subprocess.Popen, timeout: float = 20.0) -> int:
    """SIGTERM (what `docker stop` and Kubernetes send), then SIGKILL; the exit status."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            pytest.fail(f"the process ignored SIGTERM for {timeout} s")
    return process.returncode


# --- a JSON argument: one-shot run -------------------------------------------------------------


def test_json_argument_prints_the_envelope(container_env, clean_environ):
    proc = subprocess.run(
        [str(ENTRYPOINT), '{"prompt":"who are you"}'],
        capture_output=True,
        text=True,
        env=container_env,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    envelope = json.loads(proc.stdout)
    assert set(envelope) == {"statusCode", "headers", "multiValueHeaders", "body"}
    assert envelope["statusCode"] == 200
    body = json.loads(envelope["body"])
    assert body["is_error"] is False
    assert body["agent"] == "assistant"
    assert "who are you" in body["result"]
    session = str(uuid.UUID(body["session_id"]))
    # FS_SHIM=1 (the default): the transcript is kept under the state volume, seed layout.
    assert list((clean_environ / "projects").rglob(f"{session}.jsonl"))


def test_request_on_stdin_and_a_bad_request(container_env):
    proc = subprocess.run(
        [str(ENTRYPOINT), "-"],
        input='{"prompt": "from stdin"}',
        capture_output=True,
        text=True,
        env=container_env,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "from stdin" in json.loads(json.loads(proc.stdout)["body"])["result"]

    proc = subprocess.run(
        [str(ENTRYPOINT), '{"prompt": "x", "bogus_field": 1}'],
        capture_output=True,
        text=True,
        env=container_env,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 1
    envelope = json.loads(proc.stdout)
    assert envelope["statusCode"] == 400
    assert "bogus_field" in json.loads(envelope["body"])["result"]


# --- no argument: serve ------------------------------------------------------------------------


@pytest.fixture
def serve(container_env, tmp_path):
    """Start the entrypoint with no argument; returns (process, base URL)."""
    require_module("agentcontainers.cli.serve", "`agentcontainers serve`")
    started: list[subprocess.Popen] = []

    def start(**env: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        log = (tmp_path / f"serve-{port}.log").open("w")
        process = subprocess.Popen(
            [str(ENTRYPOINT)],
            env={**container_env, "PORT": str(port), "AGENTCONTAINERS_BIND": "127.0.0.1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        process.log = tmp_path / f"serve-{port}.log"  # type: ignore[attr-defined]
        started.append(process)
        return process, f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        _stop(process)


def _wait_healthy(process: subprocess.Popen, url: str, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}:\n{process.log.read_text()}")
        try:
            response = httpx.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"/healthz not ready after {timeout} s:\n{process.log.read_text()}")


def test_no_argument_serves_healthz_and_invoke(serve):
    process, url = serve(AGENTCONTAINERS_API_KEYS="ops:k-entrypoint-test")
    _wait_healthy(process, url)

    anonymous = httpx.post(f"{url}/invoke", json={"prompt": "who are you"}, timeout=RUN_TIMEOUT)
    assert anonymous.status_code == 401

    response = httpx.post(
        f"{url}/invoke",
        json={"prompt": "who are you"},
        headers={"Authorization": "Bearer k-entrypoint-test"},
        timeout=RUN_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["is_error"] is False and body["agent"] == "assistant"
    assert "who are you" in body["result"]

    assert _stop(process) in (0, -signal.SIGTERM, 128 + signal.SIGTERM)


def test_open_bind_without_keys_is_refused(serve):
    process, _ = serve(AGENTCONTAINERS_BIND="0.0.0.0")
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("serve started on 0.0.0.0 without API keys")
    assert process.returncode != 0
    assert "AGENTCONTAINERS_API_KEYS" in process.log.read_text()


def test_open_bind_with_the_explicit_opt_out(serve):
    process, url = serve(AGENTCONTAINERS_BIND="0.0.0.0", AGENTCONTAINERS_ALLOW_UNAUTHENTICATED="1")
    _wait_healthy(process, url)
    response = httpx.post(f"{url}/invoke", json={"prompt": "open door"}, timeout=RUN_TIMEOUT)
    assert response.status_code == 200, response.text
    assert "open door" in response.json()["result"]


# --- subcommands: the shared MCP gateway (Compose `mcp`, Kubernetes mcp.yaml) ----------------


def test_mcp_gateway_service_serves_the_agents_memory_tools(container_env, tmp_path):
    """`IMAGE mcp-proxy ...` as docker-compose.yml runs it; the one-shot run uses it through
    AGENTCONTAINERS_MCP_URL, as the `api` and `assistant` services do when told to."""
    require_module("agentcontainers.cli.mcp_proxy", "`agentcontainers mcp-proxy`")
    port = free_port()
    gateway_state = tmp_path / "gateway-state"
    log = tmp_path / "mcp.log"
    token = "t-" + uuid.uuid4().hex
    with log.open("w") as out:
        gateway = subprocess.Popen(
            [
                str(ENTRYPOINT),
                "mcp-proxy",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--allowed-host",
                "mcp",
            ],
            env={
                **container_env,
                "STATE_DIR": str(gateway_state),
                "AGENTCONTAINERS_MCP_TOKEN": token,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "listening on" not in log.read_text():
            assert gateway.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        call = '[[tool mcp__assistant__create_todo {"title": "buy oat milk"}]]'
        proc = subprocess.run(
            [str(ENTRYPOINT), json.dumps({"prompt": call})],
            capture_output=True,
            text=True,
            env={
                **container_env,
                "AGENTCONTAINERS_MCP_URL": f"http://127.0.0.1:{port}",
                "AGENTCONTAINERS_MCP_TOKEN": token,
            },
            timeout=RUN_TIMEOUT,
        )
        envelope = json.loads(proc.stdout)
        body = json.loads(envelope["body"])
        assert envelope["statusCode"] == 200, body
        assert "buy oat milk" in body["result"]
        # The todo lives in the gateway's state, not in the agent service's.
        assert (gateway_state / "assistant.db").is_file()
    finally:
        _stop(gateway)


# --- LAMBDA=true: the runtime interface client ------------------------------------------------


def function_url_event(request: dict, headers: dict[str, str] | None = None) -> dict:
    """A Lambda Function URL invocation (payload format 2.0) with a base64 body."""
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "abcdefghij.lambda-url.us-east-1.on.aws",
            "user-agent": "curl/8.5.0",
            "x-forwarded-proto": "https",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(json.dumps(request).encode()).decode(),
        "isBase64Encoded": True,
    }


@pytest.fixture
def lambda_runtime(container_env, tmp_path):
    """The entrypoint with LAMBDA=true against a local Runtime API; yields a starter."""
    require_module("agentcontainers.aws_lambda", "The Lambda handler (agentcontainers.aws_lambda)")
    require_module("awslambdaric", "awslambdaric (the `aws` extra)")
    started: list[subprocess.Popen] = []
    api = LambdaRuntimeAPI().start()

    def start(**env: str) -> LambdaRuntimeAPI:
        log = (tmp_path / "lambda.log").open("w")
        process = subprocess.Popen(
            [str(ENTRYPOINT)],
            env={
                **container_env,
                "LAMBDA": "true",
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "AWS_LAMBDA_FUNCTION_NAME": "agentcontainers",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
                "AWS_REGION": "us-east-1",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        started.append(process)
        return api

    yield start
    for process in started:
        _stop(process)
    api.stop()


def _envelope(outcome, tmp_path: Path) -> dict:
    log = (tmp_path / "lambda.log").read_text()
    assert outcome.kind == "response", f"{outcome.body!r}\n{log}"
    envelope = outcome.json()
    assert set(envelope) >= {"statusCode", "headers", "body"}, envelope
    return envelope


def test_lambda_mode_answers_invocations_from_the_runtime_api(lambda_runtime, tmp_path):
    api = lambda_runtime()

    # A direct invocation (`aws lambda invoke`): the event is the request.
    envelope = _envelope(api.invoke({"prompt": "who are you"}, timeout=RUN_TIMEOUT), tmp_path)
    assert envelope["statusCode"] == 200, envelope
    body = json.loads(envelope["body"])
    assert body["is_error"] is False and "who are you" in body["result"]
    session = body["session_id"]

    # The same warm process takes a Function URL invocation resuming that session.
    resumed = api.invoke(
        function_url_event({"prompt": "[[history]]", "resume_session_id": session}),
        timeout=RUN_TIMEOUT,
    )
    envelope = _envelope(resumed, tmp_path)
    assert envelope["statusCode"] == 200, envelope
    body = json.loads(envelope["body"])
    assert body["session_id"] == session
    assert "turns: 2" in body["result"]

    # A bad request is an answer (400 envelope), not a function error.
    envelope = _envelope(api.invoke({"prompt": "x", "bogus_field": 1}, timeout=60), tmp_path)
    assert envelope["statusCode"] == 400
    assert "bogus_field" in json.loads(envelope["body"])["result"]


def test_lambda_function_url_needs_a_key_when_keys_are_set(lambda_runtime, tmp_path):
    """The SAM template's default (Function URL AuthType NONE) relies on this."""
    api = lambda_runtime(AGENTCONTAINERS_API_KEYS="k-lambda-test")
    anonymous = _envelope(
        api.invoke(function_url_event({"prompt": "let me in"}), timeout=RUN_TIMEOUT), tmp_path
    )
    assert anonymous["statusCode"] == 401
    allowed = _envelope(
        api.invoke(
            function_url_event(
                {"prompt": "let me in"}, headers={"authorization": "Bearer k-lambda-test"}
            ),
            timeout=RUN_TIMEOUT,
        ),
        tmp_path,
    )
    assert allowed["statusCode"] == 200, allowed


def _can_make_read_only_root() -> bool:
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount --bind / / && mount -o remount,bind,ro /",
        ],
        capture_output=True,
    )
    return probe.returncode == 0


def test_lambda_mode_on_a_read_only_root_filesystem(lambda_runtime, container_env, tmp_path):
    """As in Lambda: nothing is writable but a scratch /tmp, HOME is unset and /mnt/state is
    not mounted. The entrypoint moves HOME and the state to scratch space and still answers,
    warm invocations included. (Root in a private mount namespace; Lambda's own user aside.)"""
    if shutil.which("unshare") is None or not _can_make_read_only_root():
        pytest.skip("needs unshare and mount rights (root) to make a read-only root filesystem")
    scratch = tmp_path / "lambda-tmp"
    scratch.mkdir()
    api = LambdaRuntimeAPI().start()
    env = {k: v for k, v in container_env.items() if k not in ("HOME", "STATE_DIR", "TMPDIR")}
    env.update(
        LAMBDA="true",
        AWS_LAMBDA_RUNTIME_API=api.address,
        STATE_DIR="/mnt/state",
        TMPDIR=str(scratch),
        PYTHONDONTWRITEBYTECODE="1",
    )
    script = (
        "mount --bind / / && mount -o remount,bind,ro / && "
        f"mount -t tmpfs -o mode=1777 tmpfs {scratch} && cd / && "
        f'exec "{ENTRYPOINT}"'
    )
    log = tmp_path / "lambda-ro.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        first = api.invoke({"prompt": "who are you"}, timeout=RUN_TIMEOUT)
        assert first.kind == "response", log.read_text()
        envelope = first.json()
        assert envelope["statusCode"] == 200, envelope
        session = json.loads(envelope["body"])["session_id"]
        again = api.invoke(
            {"prompt": "[[history]]", "resume_session_id": session}, timeout=RUN_TIMEOUT
        )
        assert again.json()["statusCode"] == 200, again.body
        assert "turns: 2" in json.loads(again.json()["body"])["result"]
    finally:
        _stop(process)
        api.stop()
    assert "/mnt/state is not writable" in log.read_text()
