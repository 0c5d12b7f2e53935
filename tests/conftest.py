"""Suite-wide fixtures: an isolated environment and state directory for every test, the dev
model, and a helper that runs the real ``agentcontainers run`` in a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Shared, noisy machines: no per-example deadlines, no speed health checks.
hypothesis_settings.register_profile(
    "shared", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150
)
hypothesis_settings.load_profile("shared")

pytest_plugins = ["tests.fixtures.devmodel", "tests.fixtures.mcp", "tests.fixtures.postgres"]

TESTS = Path(__file__).parent
PERSONAS = TESTS / "personas"

#: Variables that would leak the developer's setup into a test.
_LEAKY_PREFIXES = ("ANTHROPIC_", "CLAUDE", "AGENTCONTAINERS_", "MCP_")
_LEAKY = {"STATE_DIR", "AGENTS_PATH", "AGENT", "MODEL", "MAX_TURNS", "SYSTEM_PROMPT", "FS_SHIM",
          "LAMBDA"}  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No operator settings leak in; STATE_DIR is this test's own."""
    for key in list(os.environ):
        if key.startswith(_LEAKY_PREFIXES) or key in _LEAKY or key.endswith("_HOST"):
            monkeypatch.delenv(key, raising=False)
    state = tmp_path / "state"
    monkeypatch.setenv("STATE_DIR", str(state))
    return state


@dataclass
class CliRun:
    """What one ``agentcontainers run`` process did."""

    exit_code: int
    envelope: dict[str, Any]
    stderr: str

    @property
    def status(self) -> int:
        return int(self.envelope["statusCode"])

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.envelope["body"])


@pytest.fixture
def agent_env(dev_model: Any, clean_environ: Path) -> dict[str, str]:
    """The operator environment of a service pointed at the dev model, with a secret of its
    own (``SLACK_BOT_TOKEN``) that must never reach the agent."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "ANTHROPIC_BASE_URL": dev_model.url,
        "ANTHROPIC_API_KEY": "dev-key",
        "STATE_DIR": str(clean_environ),
        "AGENTS_PATH": str(PERSONAS),
        "AGENT": "tester",
        "AGENTCONTAINERS_MODEL_MAX_RETRIES": "0",
        "SLACK_BOT_TOKEN": "xoxb-service-secret-do-not-leak",
    }


@pytest.fixture
def run_cli(agent_env: dict[str, str]) -> Callable[..., CliRun]:
    """Run ``agentcontainers run REQUEST`` in a new process, as a user would."""

    def run(request: str | dict[str, Any], *args: str, timeout: float = 120, **env: str) -> CliRun:
        raw = request if isinstance(request, str) else json.dumps(request)
        proc = subprocess.run(
            [sys.executable, "-m", "agentcontainers", "run", *args, raw],
            capture_output=True,
            text=True,
            env={**agent_env, **env},
            timeout=timeout,
        )
        assert proc.stdout.strip(), f"no envelope on stdout; stderr:\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        return CliRun(proc.returncode, json.loads(proc.stdout), proc.stderr)

    return run


def cmdline_of(pid: int) -> bytes:
    """A process's command line, or ``b""`` once it has ended."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
