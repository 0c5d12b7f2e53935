"""The local Lambda Runtime API speaks the protocol the real client expects: the real
``awslambdaric`` (the one in the image) runs a small handler against it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.deploy.lambda_runtime_api import FUNCTION_ARN, LambdaRuntimeAPI

HANDLER = textwrap.dedent(
    """
    def handler(event, context):
        if event.get("fail"):
            raise ValueError("asked to fail")
        return {
            "event": event,
            "request_id": context.aws_request_id,
            "function_arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
        }
    """
)


@pytest.fixture
def runtime(tmp_path):
    pytest.importorskip("awslambdaric", reason="pip install awslambdaric (the `aws` extra)")
    (tmp_path / "probe_handler.py").write_text(HANDLER)
    with LambdaRuntimeAPI() as api:
        process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", "probe_handler.handler"],
            env={**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, "PYTHONPATH": str(tmp_path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            yield api, process
        finally:
            process.kill()
            process.wait(timeout=10)
            assert process.stdout is not None
            process.stdout.close()


def test_invocations_reach_the_handler_and_responses_come_back(runtime):
    api, _ = runtime
    first = api.invoke({"prompt": "hi"}, timeout=60, deadline_s=120)
    assert first.kind == "response"
    payload = first.json()
    assert payload["event"] == {"prompt": "hi"}
    assert payload["request_id"] == first.request_id
    assert payload["function_arn"] == FUNCTION_ARN
    assert 0 < payload["remaining_ms"] <= 120_000
    # The same process takes the next invocation (a warm execution environment).
    second = api.invoke({"prompt": "again"}, timeout=60)
    assert second.kind == "response" and second.json()["event"] == {"prompt": "again"}


def test_handler_exceptions_are_posted_to_the_error_endpoint(runtime):
    api, _ = runtime
    outcome = api.invoke({"fail": True}, timeout=60)
    assert outcome.kind == "error"
    assert outcome.json()["errorType"] == "ValueError"
    assert outcome.json()["errorMessage"] == "asked to fail"


def test_an_import_failure_is_posted_to_init_error(tmp_path):
    pytest.importorskip("awslambdaric", reason="pip install awslambdaric (the `aws` extra)")
    with LambdaRuntimeAPI() as api:
        proc = subprocess.run(
            [sys.executable, "-m", "awslambdaric", "no_such_module.handler"],
            env={**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address},
            capture_output=True,
            timeout=60,
        )
    assert proc.returncode != 0
    assert len(api.init_errors) == 1
    assert api.init_errors[0].json()["errorType"] == "Runtime.ImportModuleError"


def test_unknown_request_ids_are_rejected():
    import httpx

    with LambdaRuntimeAPI() as api:
        response = httpx.post(
            f"http://{api.address}/2018-06-01/runtime/invocation/not-a-request/response",
            content=b"{}",
        )
    assert response.status_code == 400
    assert response.json()["errorType"] == "InvalidRequestID"
