"""Faults: the model API failing or stalling, the CLI killed mid-run. Each test states what
holds afterwards: a clear error, no leftover process, the session's earlier turns intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cmdline_of

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("upstream", "status"), [(429, 503), (529, 503), (500, 502)], ids=["429", "529", "500"]
)
def test_model_api_failures_map_to_gateway_errors(run_cli, upstream, status):
    run = run_cli({"prompt": f"[[error {upstream}]]"})
    assert run.status == status, run.body
    assert run.exit_code == 1
    body = run.body
    assert body["is_error"] is True
    assert body["error"]["upstream_status"] == upstream
    assert str(upstream) in body["error"]["message"]
    if status == 503:
        assert run.envelope["headers"]["Retry-After"]


def test_a_stall_past_the_timeout_is_504_and_leaves_no_process(run_cli, clean_environ):
    run = run_cli({"prompt": "[[stall 60]]"}, AGENTCONTAINERS_RUN_TIMEOUT="3")
    assert run.status == 504
    assert run.body["subtype"] == "error_timeout"
    assert "time limit of 3 s" in run.body["result"]
    assert agent_processes(clean_environ) == []


def test_cli_killed_mid_run(agent_env, run_cli, clean_environ: Path):
    first = run_cli({"prompt": "first turn survives"})
    session = first.body["session_id"]
    env = dict(agent_env)
    with subprocess.Popen(
        [sys.executable, "-m", "agentcontainers", "run",
         f'{{"prompt": "[[stall 60]]", "resume_session_id": "{session}"}}'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    ) as proc:  # fmt: skip
        try:
            # the Claude Code CLI itself, not the sandbox that starts it
            victims = wait_for(lambda: [
                pid for pid in agent_processes(clean_environ)
                if b"bwrap" not in cmdline_of(pid).split(b"\0")[0]
            ])  # fmt: skip
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    import json

    envelope = json.loads(out)
    body = json.loads(envelope["body"])
    assert envelope["statusCode"] == 502
    assert body["subtype"] == "error_runtime_crashed"
    assert "ended without a result" in body["result"]
    assert body["session_id"] == session
    assert "Traceback" not in err
    assert agent_processes(clean_environ) == []
    # the session is intact and resumable, its first turn still known to the model
    resumed = run_cli({"prompt": "[[history]]", "resume_session_id": session})
    assert resumed.status == 200, resumed.body
    assert "first turn survives" in resumed.body["result"]


def agent_processes(state_dir: Path) -> list[int]:
    """PIDs of Claude Code processes working for this test's state directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"claude" in cmdline and f"CLAUDE_CONFIG_DIR={state_dir}".encode() in environ:
            found.append(int(entry.name))
    return found


def wait_for(probe, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_background_tool_processes_end_with_the_run(run_cli, clean_environ):
    run = run_cli({"prompt": '[[tool Bash {"command": "(sleep 301 &) ; echo started"}]]'})
    assert run.status == 200 and "started" in run.body["result"], run.body
    assert leftover_sleepers() == []


def leftover_sleepers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes() == b"sleep\x00301\x00":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def processes_of(state_dir: Path) -> list[int]:
    """PIDs of every process working for this test's state directory: the CLI, its sandbox,
    and the tools it started (they inherit its environment)."""
    needle = f"CLAUDE_CONFIG_DIR={state_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("sandbox", ["none", "auto"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_stopped_one_shot_run_stops_its_agent_and_still_answers(
    agent_env, clean_environ: Path, sandbox, signum
):
    # `timeout 60 agentcontainers run ...`, a pod being replaced, a closed terminal: the CLI
    # and the tool it is running end too, and the caller still gets an envelope.
    request = '{"prompt": "[[tool Bash {\\"command\\": \\"echo start; sleep 300; echo end\\"}]]"}'
    with subprocess.Popen(
        [sys.executable, "-m", "agentcontainers", "run", request],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**agent_env, "AGENTCONTAINERS_SANDBOX": sandbox},
    ) as proc:  # fmt: skip
        try:
            wait_for(lambda: any(b"sleep" in cmdline_of(p) for p in processes_of(clean_environ)))
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    import json

    envelope = json.loads(out)
    body = json.loads(envelope["body"])
    assert proc.returncode == 1
    assert body["is_error"] is True and body["error"]["code"] == "cancelled"
    assert signal.Signals(signum).name in body["result"]
    assert "Traceback" not in err
    assert processes_of(clean_environ) == []
