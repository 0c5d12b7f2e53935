"""Schemathesis against the served ``/openapi.json``: every operation, generated and mutated
requests, stateful sequences. No 500s and no response that breaks the documented schema.

``positive_data_acceptance`` is left out on purpose: some schema-valid requests are refused
by design with a 400 naming the problem (an ``env`` key on the operator's denylist, a
``webhook_url`` when no webhook secret is configured, an ``Idempotency-Key`` reused for a
different request), which a schema cannot express.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.http.conftest import wait_for_no_agent_processes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

KEY = "fuzz-key-0123456789"


def test_schemathesis_finds_no_server_errors_or_schema_violations(serve, tmp_path, clean_environ):
    server = serve(
        AGENTCONTAINERS_API_KEYS=f"fuzzer:{KEY}", AGENTCONTAINERS_MAX_CONCURRENT_RUNS="4"
    )
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis), "run", f"{server.url}/openapi.json",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "-H", f"Authorization: Bearer {KEY}",
        "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"),
        "--workers", "1", "--generation-database", "none", "--no-color",
        "--request-timeout", "120",
    ]  # fmt: skip
    outcome = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=900,
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
    )  # fmt: skip
    report = outcome.stdout[-6000:] + outcome.stderr[-2000:]
    print(outcome.stdout[-1500:])
    assert outcome.returncode == 0, report
    assert "18 selected" in outcome.stdout, report
    # Background runs it started end with the server.
    from tests.http.conftest import stop_server

    stop_server(server.process)
    assert wait_for_no_agent_processes(clean_environ) == []
