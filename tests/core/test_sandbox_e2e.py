"""What an agent's tools can reach beyond their environment: the bubblewrap sandbox keeps the
service's secrets, other sessions and the persona out of reach; without a sandbox the service
still hides its own ``/proc`` files from processes of its user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PERSONAS

pytestmark = pytest.mark.e2e

SECRET = "xoxb-service-secret-do-not-leak"  # the service's own SLACK_BOT_TOKEN (agent_env)


def bash(command: str) -> dict[str, object]:
    return {"prompt": "[[tool Bash " + json.dumps({"command": command}) + "]]"}


def _require_bwrap() -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("bwrap is missing (make system-deps installs bubblewrap)")
        pytest.skip("bwrap is not installed (apt-get install bubblewrap)")


# Every /proc/<pid>/environ the tool can read that holds the secret, and the PIDs it can see.
SCAN = (
    f"for f in /proc/[0-9]*; do tr '\\0' '\\n' < $f/environ 2>/dev/null | grep -q {SECRET} "
    "&& echo LEAK $f; done; echo pids=$(ls /proc | grep -c '^[0-9]')"
)


def test_the_service_and_other_processes_are_invisible_in_the_sandbox(run_cli):
    _require_bwrap()
    run = run_cli(bash(SCAN), AGENTCONTAINERS_SANDBOX="bwrap")
    assert run.status == 200, run.body
    result = str(run.body["result"])
    assert "pids=" in result  # the scan ran
    assert "LEAK" not in result, result
    assert int(result.rsplit("pids=", 1)[1].split()[0]) < 20  # its own PID namespace

    # the control: without the sandbox, as root, the service's environment is readable
    # (root may read any process's /proc files; a non-root service is covered below)
    if os.geteuid() == 0:
        open_run = run_cli(bash(SCAN), AGENTCONTAINERS_SANDBOX="none")
        assert "LEAK" in str(open_run.body["result"])


def test_the_sandbox_shows_only_the_sessions_own_files(run_cli, clean_environ: Path):
    _require_bwrap()
    first = run_cli(bash("echo first > note.txt && echo wrote"), AGENTCONTAINERS_SANDBOX="bwrap")
    assert first.status == 200 and "wrote" in first.body["result"], first.body
    other_workspace = clean_environ / "workspaces" / first.body["session_id"]
    assert (other_workspace / "note.txt").read_text() == "first\n"  # its own files persist

    probe = " ; ".join(
        [
            f"ls {other_workspace} 2>&1 | head -1",
            f"ls {clean_environ}/__store.db 2>&1",
            f"touch {PERSONAS}/tester/x 2>&1",
            "touch /etc/agent-was-here 2>&1",
            "echo mine > mine.txt && cat mine.txt",
            f"echo shared > {clean_environ.parent}/handed-over.txt && echo handed",
        ]
    )
    second = run_cli(bash(probe), AGENTCONTAINERS_SANDBOX="bwrap")
    assert second.status == 200, second.body
    out = str(second.body["result"])
    assert "No such file or directory" in out  # the other session's workspace, the index
    assert "note.txt" not in out and "__store.db\n" not in out
    assert out.count("Read-only file system") == 2  # the persona directory, /etc
    assert not (PERSONAS / "tester" / "x").exists()
    assert "mine" in out  # its own workspace is writable
    assert (clean_environ.parent / "handed-over.txt").read_text() == "shared\n"  # and /tmp
    assert (clean_environ / "__store.db").is_file()  # hidden from the agent, not gone

    # and the session it continues is whole: resume sees the earlier turn's files
    resumed = run_cli(
        {**bash("cat note.txt"), "resume_session_id": first.body["session_id"]},
        AGENTCONTAINERS_SANDBOX="bwrap",
    )
    assert resumed.status == 200 and "first" in resumed.body["result"], resumed.body


def test_an_unknown_sandbox_mode_is_named(run_cli):
    run = run_cli({"prompt": "hi"}, AGENTCONTAINERS_SANDBOX="docker")
    assert run.status == 500 and run.body["error"]["code"] == "config"
    assert "AGENTCONTAINERS_SANDBOX" in run.body["error"]["message"]


def test_a_required_sandbox_that_cannot_run_is_a_clear_error(run_cli, tmp_path: Path):
    # PATH without bwrap: `bwrap` is required and missing, so nothing runs unconfined
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sh", "bash", "env"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    run = run_cli({"prompt": "hi"}, AGENTCONTAINERS_SANDBOX="bwrap", PATH=str(bare))
    assert run.status == 500 and "bubblewrap" in run.body["error"]["message"], run.body


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) not found")
def test_a_non_root_service_hides_its_environment_from_its_own_user(tmp_path: Path):
    """Without bubblewrap (a container without user namespaces, Lambda) the service's /proc
    files are still closed to the agent's tools, which run as the same, non-root, user."""
    system_python = Path("/usr/bin/python3")
    if not system_python.exists():
        pytest.skip("needs a Python that the user nobody can run")
    src = Path(__file__).resolve().parents[2] / "src"
    script = (
        "import os, subprocess\n"
        "from agentcontainers.runtime.sandbox import protect_service_process\n"
        "read = lambda: subprocess.run(['cat', f'/proc/{os.getpid()}/environ'],"
        " capture_output=True).returncode\n"
        "before = read()\n"
        "protect_service_process()\n"
        "print(before, read())\n"
    )
    out = subprocess.run(
        ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
         str(system_python), "-c", script],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(src), "SECRET": SECRET},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "1"]  # readable before, refused after


def test_the_service_protects_itself_before_the_agent_runs(agent_env):
    script = (
        "import anyio, ctypes\n"
        "from agentcontainers.request import parse_request\n"
        "from agentcontainers.service import AgentService\n"
        "from agentcontainers.settings import Settings\n"
        "async def main():\n"
        "    async with AgentService(Settings.from_env()) as service:\n"
        "        before = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)\n"
        "        result = await service.invoke(parse_request({'prompt': 'protect-check'}))\n"
        "        print(result.status, before, ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))\n"
        "anyio.run(main)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        env={**agent_env, "AGENTCONTAINERS_SANDBOX": "none"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["200", "1", "0"]  # PR_GET_DUMPABLE: 1 before, 0 after
