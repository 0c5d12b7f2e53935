"""The container entrypoint picks the right command for each way the image is started.

These run ``docker/entrypoint.sh`` with ``/bin/sh`` (dash on Debian, as in the image) and
recorders in place of ``agentcontainers`` and ``python``, so they check the script alone and
fast; tests/deploy/test_entrypoint_e2e.py runs the same modes for real.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.tools import ENTRYPOINT

RECORDER = """#!/bin/sh
python3 - "$0" "$@" <<'PY'
import json, os, sys
record = {"program": os.path.basename(sys.argv[1]), "argv": sys.argv[2:], "env": dict(os.environ)}
with open(os.environ["RECORD_TO"], "w") as out:
    json.dump(record, out)
PY
"""


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for program in ("agentcontainers", "python"):
        (folder / program).write_text(RECORDER)
        (folder / program).chmod(0o755)
    return folder


@pytest.fixture
def start(bin_dir: Path, tmp_path: Path):
    """Run the entrypoint; return (process, what the recorder saw or None)."""

    def run(*args: str, **env: str):
        record = tmp_path / "record.json"
        record.unlink(missing_ok=True)
        base = {
            "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "TMPDIR": str(tmp_path / "tmp"),
            "RECORD_TO": str(record),
        }
        (tmp_path / "tmp").mkdir(exist_ok=True)
        proc = subprocess.run(
            ["/bin/sh", str(ENTRYPOINT), *args],
            capture_output=True,
            text=True,
            env={**base, **env},
            timeout=30,
        )
        seen = json.loads(record.read_text()) if record.exists() else None
        return proc, seen

    return run


REQUEST = '{"prompt":"who are you"}'


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((REQUEST,), ["run", REQUEST]),
        ((" \n" + REQUEST,), ["run", " \n" + REQUEST]),
        (("-",), ["run", "-"]),
        (("--agent", "reviewer", REQUEST), ["run", "--agent", "reviewer", REQUEST]),
        (("run", REQUEST), ["run", REQUEST]),
        (("mcp-proxy", "--port", "8090"), ["mcp-proxy", "--port", "8090"]),
        (("agents",), ["agents"]),
        (("agentcontainers", "usage"), ["usage"]),
    ],
    ids=["json", "json-with-space", "stdin", "agent-option", "run", "mcp-proxy", "agents", "full"],
)
def test_arguments_choose_the_command(start, args, expected):
    proc, seen = start(*args)
    assert proc.returncode == 0, proc.stderr
    assert seen is not None and seen["program"] == "agentcontainers"
    assert seen["argv"] == expected


def test_no_argument_serves_on_all_interfaces(start):
    proc, seen = start()
    assert proc.returncode == 0, proc.stderr
    assert seen["argv"] == ["serve", "--host", "0.0.0.0", "--port", "8080"]


def test_serve_address_and_explicit_opt_out_of_authentication(start):
    _, seen = start(AGENTCONTAINERS_BIND="127.0.0.1", PORT="9000")
    assert seen["argv"] == ["serve", "--host", "127.0.0.1", "--port", "9000"]
    _, seen = start(AGENTCONTAINERS_ALLOW_UNAUTHENTICATED="true")
    assert seen["argv"][-1] == "--allow-unauthenticated"
    _, seen = start(AGENTCONTAINERS_ALLOW_UNAUTHENTICATED="0")
    assert "--allow-unauthenticated" not in seen["argv"]


def test_other_programs_run_as_given(start):
    proc, seen = start("sh", "-c", "echo from-sh")
    assert seen is None
    assert proc.stdout.strip() == "from-sh"


@pytest.mark.parametrize("flag", ["true", "TRUE", "1", "yes"])
def test_lambda_mode_runs_the_runtime_interface_client(start, tmp_path, flag):
    state = tmp_path / "state"
    proc, seen = start(
        REQUEST,  # ignored: Lambda delivers requests through the Runtime API
        LAMBDA=flag,
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:9001",
        STATE_DIR=str(state),
    )
    assert proc.returncode == 0, proc.stderr
    assert seen["program"] == "python"
    assert seen["argv"] == ["-m", "awslambdaric", "agentcontainers.aws_lambda.handler"]
    assert seen["env"]["STATE_DIR"] == str(state)
    assert state.is_dir()


def test_lambda_mode_falls_back_to_tmp_when_state_and_home_are_not_writable(start, tmp_path):
    blocker = tmp_path / "read-only-root"
    blocker.write_text("a file, so nothing can be created below it")
    proc, seen = start(
        LAMBDA="true",
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:9001",
        STATE_DIR=str(blocker / "state"),
        HOME=str(tmp_path / "no-such-home"),
    )
    assert proc.returncode == 0, proc.stderr
    scratch = tmp_path / "tmp"
    assert seen["env"]["STATE_DIR"] == str(scratch / "agentcontainers-state")
    assert seen["env"]["HOME"] == str(scratch)
    assert "not writable" in proc.stderr and "EFS" in proc.stderr


def test_lambda_mode_without_the_runtime_api_says_what_is_missing(start):
    proc, seen = start(LAMBDA="true")
    assert seen is None
    assert proc.returncode == 2
    assert "AWS_LAMBDA_RUNTIME_API" in proc.stderr


def test_entrypoint_is_executable():
    assert os.access(ENTRYPOINT, os.X_OK)
