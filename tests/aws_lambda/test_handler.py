"""The Lambda handler with the event shapes AWS documents, running the real CLI on the dev model.

Malformed events never reach the CLI: they answer a 400 envelope, never an exception."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agentcontainers import aws_lambda
from agentcontainers.aws_lambda import LambdaHandler
from agentcontainers.settings import Settings

EVENTS = Path(__file__).parent / "events"
KEY = "lambda-key-0123456789"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def body_of(envelope: dict) -> dict:
    assert set(envelope) == {"statusCode", "headers", "multiValueHeaders", "body"}
    assert envelope["headers"]["Content-Type"] == "application/json"
    assert envelope["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert isinstance(envelope["body"], str)
    return json.loads(envelope["body"])


@pytest.fixture
def handler(agent_env):
    handler = LambdaHandler(Settings.from_env(agent_env))
    yield handler
    handler.close()


@pytest.fixture
def offline_handler(tmp_path):
    """A handler whose runs could not reach a model: for events that must never run."""
    handler = LambdaHandler(
        Settings.from_env(
            {"STATE_DIR": str(tmp_path / "state"), "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
        )
    )
    yield handler
    handler.close()


class Context:
    """The parts of the Lambda context object the handler reads."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms
        self.aws_request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.mark.parametrize(
    ("fixture", "answer"),
    [
        ("direct.json", "direct-ok"),
        ("apigw-rest-v1.json", "rest-ok"),
        ("apigw-http-v2.json", "http-ok"),
        ("function-url.json", "url-ok"),
    ],
)
def test_every_event_type_runs_the_request(handler, fixture, answer):
    envelope = handler(load(fixture), Context(60_000))
    assert envelope["statusCode"] == 200, envelope
    body = body_of(envelope)
    assert body["result"] == answer and body["is_error"] is False
    assert body["agent"] == "tester"


def test_direct_invocation_matches_the_cli(handler, run_cli):
    request = {"prompt": "same request [[say same answer]]"}
    from_lambda = handler(copy.deepcopy(request), Context(60_000))
    from_cli = run_cli(request)
    assert from_lambda["statusCode"] == from_cli.status == 200
    assert from_lambda["headers"] == from_cli.envelope["headers"]
    lambda_body, cli_body = body_of(from_lambda), from_cli.body
    assert set(lambda_body) == set(cli_body)
    for key in ("type", "subtype", "is_error", "result", "num_turns", "agent"):
        assert lambda_body[key] == cli_body[key]
    # The JSON text of a direct event works too.
    assert handler(json.dumps(request), Context(60_000))["statusCode"] == 200


def test_the_invocation_deadline_bounds_the_run(handler):
    envelope = handler({"prompt": "[[stall 30]]"}, Context(4_500))  # 1.5 s once the margin is kept
    assert envelope["statusCode"] == 504
    assert body_of(envelope)["error"]["code"] == "timeout"


def malformed_events() -> list[tuple[str, object]]:
    rest, v2, url = (
        load("apigw-rest-v1.json"),
        load("apigw-http-v2.json"),
        load("function-url.json"),
    )
    cases: list[tuple[str, object]] = [
        ("null", None),
        ("list", [1, 2]),
        ("number", 42),
        ("not json", "hello"),
        ("json text of a list", "[]"),
        ("empty object", {}),
        ("unknown field", {"prompt": "x", "colour": "red"}),
        ("prompt of the wrong type", {"prompt": 7}),
        ("denied env", {"prompt": "x", "env": {"LD_PRELOAD": "/evil.so"}}),
    ]
    for name, event in (("rest", rest), ("v2", v2), ("url", url)):
        for label, change in [
            ("no body", {"body": None}),
            ("empty body", {"body": ""}),
            ("body not a string", {"body": {"prompt": "x"}}),
            ("bad base64", {"body": "%%%not base64%%%", "isBase64Encoded": True}),
            (
                "base64 of junk",
                {"body": base64.b64encode(b"\xff\xfe junk").decode(), "isBase64Encoded": True},
            ),
            ("body not json", {"body": "prompt=hello", "isBase64Encoded": False}),
            ("body a list", {"body": "[]", "isBase64Encoded": False}),
            ("body missing the prompt", {"body": '{"agent": "tester"}', "isBase64Encoded": False}),
        ]:
            cases.append((f"{name}: {label}", {**copy.deepcopy(event), **change}))
    return cases


@pytest.mark.parametrize(
    ("name", "event"), malformed_events(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_malformed_events_are_400_envelopes(offline_handler, name, event):
    envelope = offline_handler(event, None)
    assert envelope["statusCode"] == 400, (name, envelope)
    body = body_of(envelope)
    assert body["is_error"] is True and body["error"]["code"] == "invalid_request"
    assert body["result"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@hypothesis_settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=json_values, base64_flag=st.booleans(), body=st.text() | st.binary())
def test_no_event_or_body_raises(offline_handler, event, base64_flag, body):
    assume(not (isinstance(event, dict) and "prompt" in event))
    text_body = body if isinstance(body, str) else base64.b64encode(body).decode()
    http_event = {**load("apigw-http-v2.json"), "isBase64Encoded": base64_flag, "body": text_body}
    for candidate in (event, http_event):
        text = candidate.get("body") if isinstance(candidate, dict) else None
        assume(not (isinstance(text, str) and "prompt" in text))
        envelope = offline_handler(candidate, None)
        assert envelope["statusCode"] in (400, 413)
        body_of(envelope)


def test_a_body_over_the_limit_is_413(tmp_path):
    handler = LambdaHandler(
        Settings.from_env({"STATE_DIR": str(tmp_path), "AGENTCONTAINERS_MAX_BODY_BYTES": "100"})
    )
    event = load("apigw-http-v2.json")
    event["body"] = json.dumps({"prompt": "x" * 200})
    envelope = handler(event, None)
    assert envelope["statusCode"] == 413
    assert body_of(envelope)["error"]["code"] == "too_large"


def test_api_keys_guard_http_events(agent_env):
    handler = LambdaHandler(
        Settings.from_env({**agent_env, "AGENTCONTAINERS_API_KEYS": f"ops:{KEY}"})
    )
    try:
        event = load("apigw-http-v2.json")
        refused = handler(copy.deepcopy(event), None)
        assert refused["statusCode"] == 401
        assert body_of(refused)["error"]["code"] == "unauthorized"
        event["headers"]["authorization"] = "Bearer wrong"
        assert handler(copy.deepcopy(event), None)["statusCode"] == 401
        rest = load("apigw-rest-v1.json")
        rest["headers"]["Authorization"] = f"Bearer {KEY}"
        rest["multiValueHeaders"]["Authorization"] = [f"Bearer {KEY}"]
        assert handler(rest, Context(60_000))["statusCode"] == 200
        # direct invocations are authorised by IAM
        assert handler(load("direct.json"), Context(60_000))["statusCode"] == 200
    finally:
        handler.close()


def test_health_checks_run_nothing(offline_handler):
    event = load("apigw-http-v2.json")
    event["requestContext"]["http"].update(method="GET", path="/healthz")
    event.pop("body")
    envelope = offline_handler(event, None)
    assert envelope["statusCode"] == 200 and body_of(envelope) == {"status": "ok"}


def test_module_handler_reads_the_environment(monkeypatch, agent_env):
    for key, value in agent_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(aws_lambda, "_default", None)
    try:
        envelope = aws_lambda.handler(load("direct.json"), Context(60_000))
        assert envelope["statusCode"] == 200 and body_of(envelope)["result"] == "direct-ok"
    finally:
        if aws_lambda._default is not None:
            aws_lambda._default.close()
        monkeypatch.setattr(aws_lambda, "_default", None)


def test_importing_the_handler_is_cheap():
    code = "import json, sys, agentcontainers.aws_lambda; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = json.loads(run.stdout)
    heavy = {"pydantic", "fastapi", "starlette", "anyio", "httpx", "claude_agent_sdk"}
    assert heavy.isdisjoint(m.split(".")[0] for m in modules)


@pytest.mark.e2e
def test_lambda_command_serves_the_runtime_api(agent_env):
    pytest.importorskip("awslambdaric")
    from tests.deploy.lambda_runtime_api import LambdaRuntimeAPI

    with LambdaRuntimeAPI() as api:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentcontainers", "lambda"],
            env={
                **agent_env,
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "PYTHONPATH": os.pathsep.join(sys.path),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            first = api.invoke(load("apigw-rest-v1.json"), timeout=90, deadline_s=120)
            assert first.kind == "response"
            assert first.json()["statusCode"] == 200
            assert json.loads(first.json()["body"])["result"] == "rest-ok"
            bad = api.invoke({"not": "a request"}, timeout=60, deadline_s=120)
            assert bad.kind == "response" and bad.json()["statusCode"] == 400
        finally:
            process.kill()
            process.wait(timeout=10)
            assert process.stdout is not None
            process.stdout.close()


def test_lambda_command_needs_the_runtime_api(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    from agentcontainers.cli import main

    assert main(["lambda"]) == 2


def test_warm_invocations_reuse_the_assistants_mcp_gateway(agent_env):
    handler = LambdaHandler(Settings.from_env({**agent_env, "AGENT": "assistant"}))
    try:
        for _ in range(2):
            envelope = handler({"prompt": "[[say warm]]"}, Context(60_000))
            assert envelope["statusCode"] == 200, envelope
            assert body_of(envelope)["result"] == "warm"
        saved = handler(
            {"prompt": '[[tool mcp__assistant__create_todo {"title": "renew passports"}]]'},
            Context(60_000),
        )
        assert "renew passports" in body_of(saved)["result"], saved
        listed = handler({"prompt": "[[tool mcp__assistant__list_todos {}]]"}, Context(60_000))
        assert "renew passports" in body_of(listed)["result"], listed
    finally:
        handler.close()
